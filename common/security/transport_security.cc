#include "common/security/transport_security.h"

#include <grpcpp/security/auth_metadata_processor.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <iostream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/security/pki.h"
#include "common/security/policy.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

constexpr absl::string_view kBearer = "Bearer ";

// The token of an "authorization: Bearer <token>" value ("" when it is not one).
absl::string_view BearerTokenOf(absl::string_view value) {
  if (!absl::StartsWith(value, kBearer)) return {};
  return value.substr(kBearer.size());
}

absl::StatusOr<std::string> ReadCredential(const std::string& path, bool secret) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", text.status().message()));
  struct stat st;
  // Group-readable is how Kubernetes mounts a Secret for a pod's fsGroup; world-readable is not.
  if (secret && ::stat(path.c_str(), &st) == 0 && (st.st_mode & 0004) != 0) {
    std::cerr << "warning: " << path << " is readable by every user of this machine (mode 0" << std::oct
              << (st.st_mode & 0777) << std::dec << "); chmod 600 it\n";
  }
  return text;
}

// Parses PEM certificates and keys early, so that a wrong file is named at start-up rather
// than as a failed handshake later.
absl::Status CheckPem(const std::string& path, const std::string& pem, bool key, X509** cert_out = nullptr) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  bool ok = false;
  if (key) {
    EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    ok = k != nullptr;
    EVP_PKEY_free(k);
  } else {
    X509* c = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    ok = c != nullptr;
    if (cert_out != nullptr) {
      *cert_out = c;
    } else {
      X509_free(c);
    }
  }
  BIO_free(bio);
  if (!ok) return absl::InvalidArgumentError(absl::StrCat(path, " is not a PEM ", key ? "private key" : "certificate"));
  return absl::OkStatus();
}

absl::Status CheckKeyPair(const std::string& dir, const std::string& cert_pem, const std::string& key_pem,
                          const std::string& ca_pem) {
  X509* cert = nullptr;
  X509* ca = nullptr;
  RTO_RETURN_IF_ERROR(CheckPem(dir + "/tls.crt", cert_pem, false, &cert));
  absl::Status s = CheckPem(dir + "/ca.crt", ca_pem, false, &ca);
  if (s.ok()) s = CheckPem(dir + "/tls.key", key_pem, true);
  if (s.ok()) {
    BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (X509_check_private_key(cert, key) != 1) {
      s = absl::InvalidArgumentError(absl::StrCat(dir, "/tls.key is not the key of ", dir, "/tls.crt"));
    } else if (EVP_PKEY* ca_key = X509_get0_pubkey(ca); ca_key == nullptr || X509_verify(cert, ca_key) != 1) {
      s = absl::InvalidArgumentError(absl::StrCat(dir, "/tls.crt is not signed by ", dir, "/ca.crt"));
    }
    EVP_PKEY_free(key);
  }
  X509_free(cert);
  X509_free(ca);
  return s;
}

// "<principal> <sha256 hex>" per line; '#' starts a comment.
absl::StatusOr<std::map<std::string, std::string>> ParseTokenTable(const std::string& path, const std::string& text) {
  std::map<std::string, std::string> by_hash;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    std::vector<std::string> fields = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    const bool hex = fields.size() == 2 && fields[1].size() == 64 &&
                     fields[1].find_first_not_of("0123456789abcdef") == std::string::npos;
    if (!hex) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " line ", line_number, ": expected '<principal> <64 lowercase hex digits>'"));
    }
    by_hash[fields[1]] = fields[0];
  }
  if (by_hash.empty()) return absl::InvalidArgumentError(absl::StrCat(path, " lists no token"));
  return by_hash;
}

// The principal of a bearer token in `table` (sha256 hex -> principal); "" when unknown.
std::string PrincipalOf(const std::map<std::string, std::string>& table, absl::string_view token) {
  if (token.empty()) return "";
  auto it = table.find(Sha256Hex(std::string(token)));
  return it == table.end() ? "" : it->second;
}

class BearerTokenPlugin : public grpc::MetadataCredentialsPlugin {
 public:
  explicit BearerTokenPlugin(const std::string& token) : value_(absl::StrCat(kBearer, token)) {}
  bool IsBlocking() const override { return false; }
  grpc::Status GetMetadata(grpc::string_ref, grpc::string_ref, const grpc::AuthContext&,
                           std::multimap<grpc::string, grpc::string>* metadata) override {
    metadata->insert({"authorization", value_});
    return grpc::Status::OK;
  }

 private:
  const std::string value_;
};

}  // namespace

// Runs for every call before its handler. It reads only the call's own metadata (the token and
// the method's path) and writes nothing to the connection's AuthContext, which the connection's
// other calls share.
class TransportSecurity::TokenCheck : public grpc::AuthMetadataProcessor {
 public:
  explicit TokenCheck(std::shared_ptr<const std::map<std::string, std::string>> principal_by_hash)
      : principal_by_hash_(std::move(principal_by_hash)) {}
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext*, OutputMetadata*, OutputMetadata*) override {
    absl::string_view method;
    if (auto it = metadata.find(":path"); it != metadata.end()) method = {it->second.data(), it->second.size()};
    auto it = metadata.find("authorization");
    if (it == metadata.end()) {
      return {grpc::StatusCode::UNAUTHENTICATED, absl::StrCat("no bearer token with the call to ", method)};
    }
    const absl::string_view token = BearerTokenOf({it->second.data(), it->second.size()});
    const std::string principal = PrincipalOf(*principal_by_hash_, token);
    if (principal.empty()) {
      return {grpc::StatusCode::UNAUTHENTICATED,
              absl::StrCat("the bearer token of the call to ", method, " is not one of this run's")};
    }
    const absl::Status allowed = Authorize(principal, method);
    if (!allowed.ok()) return {grpc::StatusCode::PERMISSION_DENIED, std::string(allowed.message())};
    return grpc::Status::OK;
  }

 private:
  const std::shared_ptr<const std::map<std::string, std::string>> principal_by_hash_;
};

std::shared_ptr<const TransportSecurity> TransportSecurity::Plaintext() {
  return std::shared_ptr<const TransportSecurity>(new TransportSecurity());
}

absl::StatusOr<std::shared_ptr<const TransportSecurity>> TransportSecurity::Load(const SecurityConfig& config) {
  if (config.plaintext) return Plaintext();
  if (config.dir.empty()) {
    return absl::InvalidArgumentError(
        "security.dir is not set: give the directory of this process's credentials (ca.crt, tls.crt, tls.key, "
        "token, tokens.sha256; `rto launch` makes them for its run, deploy/README.md says how for compose and "
        "Kubernetes), or set security.plaintext: true to run without encryption or authentication (insecure)");
  }
  auto s = std::shared_ptr<TransportSecurity>(new TransportSecurity());
  s->plaintext_ = false;
  s->mutual_tls_ = config.mutual_tls;
  s->dir_ = config.dir;
  s->server_name_ = config.server_name;
  const std::string& d = config.dir;
  RTO_ASSIGN_OR_RETURN(s->ca_pem_, ReadCredential(d + "/ca.crt", false));
  RTO_ASSIGN_OR_RETURN(s->cert_pem_, ReadCredential(d + "/tls.crt", false));
  RTO_ASSIGN_OR_RETURN(s->key_pem_, ReadCredential(d + "/tls.key", true));
  RTO_RETURN_IF_ERROR(CheckKeyPair(d, s->cert_pem_, s->key_pem_, s->ca_pem_));
  RTO_ASSIGN_OR_RETURN(std::string token, ReadCredential(d + "/token", true));
  s->token_ = std::string(absl::StripAsciiWhitespace(token));
  if (s->token_.size() < 32 || s->token_.find_first_of(" \t\r\n") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(d, "/token must hold one token of at least 32 characters"));
  }
  RTO_ASSIGN_OR_RETURN(std::string table, ReadCredential(d + "/tokens.sha256", false));
  RTO_ASSIGN_OR_RETURN(auto by_hash, ParseTokenTable(d + "/tokens.sha256", table));
  s->principal_by_hash_ = std::make_shared<const std::map<std::string, std::string>>(std::move(by_hash));
  s->principal_ = PrincipalOf(*s->principal_by_hash_, s->token_);
  if (s->principal_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the token in ", d, "/token is not listed in ", d, "/tokens.sha256"));
  }
  return std::shared_ptr<const TransportSecurity>(std::move(s));
}

std::string TransportSecurity::Describe() const {
  if (plaintext_) return "INSECURE: plaintext gRPC without authentication (security.plaintext)";
  return absl::StrCat("TLS", mutual_tls_ ? " with client certificates" : "", " and bearer tokens, as ", principal_,
                      " (", dir_, ")");
}

std::shared_ptr<grpc::ServerCredentials> TransportSecurity::ServerCredentials() const {
  if (plaintext_) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions o(mutual_tls_ ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                                  : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  o.pem_root_certs = ca_pem_;
  o.pem_key_cert_pairs.push_back({key_pem_, cert_pem_});
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::SslServerCredentials(o);
  credentials->SetAuthMetadataProcessor(std::make_shared<TokenCheck>(principal_by_hash_));
  return credentials;
}

std::shared_ptr<grpc::ChannelCredentials> TransportSecurity::ChannelCredentials() const {
  if (plaintext_) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = ca_pem_;
  o.pem_private_key = key_pem_;
  o.pem_cert_chain = cert_pem_;
  return grpc::CompositeChannelCredentials(
      grpc::SslCredentials(o), grpc::MetadataCredentialsFromPlugin(std::make_unique<BearerTokenPlugin>(token_)));
}

void TransportSecurity::ConfigureChannel(grpc::ChannelArguments* args) const {
  if (!plaintext_ && !server_name_.empty()) args->SetSslTargetNameOverride(server_name_);
}

std::string TransportSecurity::DerivedSecret(const std::string& purpose) const {
  if (plaintext_) return "";
  return Sha256Hex(absl::StrCat("rto ", purpose, " ", token_));
}

std::string TransportSecurity::CallerOf(const grpc::ServerContext& context) const {
  if (plaintext_) return "";
  auto it = context.client_metadata().find("authorization");
  if (it == context.client_metadata().end()) return "";
  return PrincipalOf(*principal_by_hash_, BearerTokenOf({it->second.data(), it->second.size()}));
}

}  // namespace rto
