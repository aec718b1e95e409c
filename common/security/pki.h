// The throwaway public-key infrastructure of one run (`rto launch` makes it so that the default
// run is encrypted and authenticated without any setup): a CA, a certificate and key per
// principal, a bearer token per principal, and the table of accepted token hashes. OpenSSL.
//
// Layout, one directory per principal, each the way a Kubernetes Secret (and cert-manager's
// Certificate) is mounted, so a process reads the same five files whoever made them:
//
//   <dir>/<principal>/ca.crt          the run's CA certificate (PEM)
//   <dir>/<principal>/tls.crt         the principal's certificate, signed by the CA (PEM)
//   <dir>/<principal>/tls.key         its private key (PEM, PKCS#8; mode 0600)
//   <dir>/<principal>/token           its bearer token (mode 0600)
//   <dir>/<principal>/tokens.sha256   "<principal> <sha256 hex of its token>" for every principal
//
// The CA's key is not kept: nothing can issue another certificate of this run. Directories are
// 0700. Thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rto {

struct RunPkiOptions {
  std::vector<std::string> principals;
  // Names and IP addresses every certificate is valid for (subjectAltName): the hosts the run's
  // servers are reached at. IPv4 literals become IP entries, the rest DNS entries.
  std::vector<std::string> hosts = {"localhost", "127.0.0.1"};
  int days = 30;
};

// Makes the layout above under `dir` (created; existing files are replaced).
absl::Status MakeRunPki(const std::string& dir, const RunPkiOptions& options);

// 32 random bytes from OpenSSL's CSPRNG, as 64 hex digits.
absl::StatusOr<std::string> RandomHex32();
// SHA-256 of `data`, as 64 lowercase hex digits.
std::string Sha256Hex(const std::string& data);

}  // namespace rto
