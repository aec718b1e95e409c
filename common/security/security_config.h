// The `security:` block of a config: how this process protects its gRPC (transport_security.h).
//
//   security:
//     plaintext: false   # true: no TLS, no tokens (every process then logs that it is insecure)
//     dir: ""            # this process's credentials (pki.h's layout: ca.crt tls.crt tls.key
//                        # token tokens.sha256, as a Kubernetes Secret mounts them); `rto launch`
//                        # makes a throwaway set for its run when empty
//     mutual_tls: true   # servers require a client certificate signed by ca.crt
//     server_name: ""    # the name servers' certificates are checked against (empty: the host
//                        # of each address; set it when workers are reached at addresses that no
//                        # certificate names, such as pod IPs)
//     metrics_basic_auth_file: ""  # a file holding user:password: /metrics then asks for it
//                                  # (HTTP basic authentication, Prometheus's basic_auth)
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/config/config.h"

namespace rto {

struct SecurityConfig {
  bool plaintext = false;
  std::string dir;
  bool mutual_tls = true;
  std::string server_name;
  std::string metrics_basic_auth_file;

  absl::Status Read(ConfigReader& config);  // the security.* keys
  // The user:password of metrics_basic_auth_file ("" when it is not set).
  absl::StatusOr<std::string> MetricsBasicAuth() const;
};

}  // namespace rto
