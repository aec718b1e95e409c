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
#pragma once

#include <string>

#include "absl/status/status.h"
#include "common/config/config.h"

namespace rto {

struct SecurityConfig {
  bool plaintext = false;
  std::string dir;
  bool mutual_tls = true;
  std::string server_name;

  absl::Status Read(ConfigReader& config);  // the security.* keys
};

}  // namespace rto
