// How a process of the run protects its gRPC: TLS (mutual by default) with the run's CA, a
// bearer token on every call, and on every server a check of the caller's token and of what its
// principal may call (policy.h). Configured by the `security:` block (security_config.h).
//
// The server-side check runs in gRPC's auth metadata processor, before any handler: a call
// without a token or with an unknown one fails UNAUTHENTICATED, a principal calling what it may
// not PERMISSION_DENIED. Tokens are compared by SHA-256, so no server holds another principal's
// token. Immutable after Load: thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/security/security_config.h"

namespace rto {

class TransportSecurity {
 public:
  // Reads the five files of config.dir; an error names the file and what is wrong with it (a
  // missing dir says how to get credentials or opt out). Warns on stderr when a key or token is
  // readable by every user.
  static absl::StatusOr<std::shared_ptr<const TransportSecurity>> Load(const SecurityConfig& config);
  // No TLS and no tokens: for a config that says security.plaintext, and for tests.
  static std::shared_ptr<const TransportSecurity> Plaintext();

  bool plaintext() const { return plaintext_; }
  // Whose token this process sends (the principal its token belongs to in tokens.sha256).
  const std::string& principal() const { return principal_; }
  // One line for the log: what protects this process's gRPC (and "INSECURE" when nothing does).
  std::string Describe() const;

  // TLS with the token check, or insecure credentials under plaintext.
  std::shared_ptr<grpc::ServerCredentials> ServerCredentials() const;
  // TLS carrying this process's token, or insecure credentials under plaintext.
  std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials() const;
  // The certificate name override (security.server_name), when set.
  void ConfigureChannel(grpc::ChannelArguments* args) const;

  // A secret for `purpose` that every process holding this principal's token derives alike and
  // no other can: SHA-256 of purpose and token, hex ("" under plaintext). For the data-parallel
  // ranks of a role, which meet in a store before any RPC.
  std::string DerivedSecret(const std::string& purpose) const;

  // The principal whose token a call to this process's server carries ("" under plaintext). For
  // handlers that check more than the method (the role a worker registers as).
  std::string CallerOf(const grpc::ServerContext& context) const;

 private:
  TransportSecurity() = default;
  class TokenCheck;

  bool plaintext_ = true;
  bool mutual_tls_ = true;
  std::string dir_, server_name_, principal_;
  std::string ca_pem_, cert_pem_, key_pem_, token_;
  // sha256 hex -> principal; shared with the servers' token checks.
  std::shared_ptr<const std::map<std::string, std::string>> principal_by_hash_;
};

}  // namespace rto
