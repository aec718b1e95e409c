#include "common/security/pki.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

namespace fs = std::filesystem;

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Free>;

// The reason OpenSSL gave for the last failure.
absl::Status OpenSslError(const std::string& what) {
  const unsigned long code = ERR_get_error();
  char reason[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, reason, sizeof(reason));
  ERR_clear_error();
  return absl::InternalError(absl::StrCat(what, ": ", reason));
}

// Writes `contents` to `path` with `mode`, replacing it.
absl::Status WriteWithMode(const std::string& path, const std::string& contents, mode_t mode) {
  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return absl::PermissionDeniedError(absl::StrCat("cannot create ", temp, ": ", std::strerror(errno)));
  bool ok = ::fchmod(fd, mode) == 0;
  for (size_t done = 0; ok && done < contents.size();) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ::fsync(fd) == 0 && ok;
  const int error = errno;
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(ok ? errno : error)));
  }
  return absl::OkStatus();
}

absl::StatusOr<Owned<EVP_PKEY>> NewKey() {
  // ECDSA P-256: what cert-manager and most service meshes issue by default; fast to make.
  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (key == nullptr) return OpenSslError("cannot make a P-256 key");
  return key;
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Owned<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslError(absl::StrCat("cannot add the extension ", OBJ_nid2sn(nid), "=", value));
  }
  return absl::OkStatus();
}

// A certificate for `key` named `common_name`, signed by `issuer_key` (self-signed when `issuer`
// is null: the CA).
absl::StatusOr<Owned<X509>> NewCertificate(EVP_PKEY* key, const std::string& common_name, X509* issuer,
                                           EVP_PKEY* issuer_key, const RunPkiOptions& options) {
  Owned<X509> cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), 2) != 1) return OpenSslError("cannot make a certificate");
  // A random 127-bit serial number, as RFC 5280 recommends for unpredictability.
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) return OpenSslError("cannot draw a serial number");
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  const bool serial_set = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) != nullptr;
  BN_free(bn);
  if (!serial_set) return OpenSslError("cannot set the serial number");
  // Valid from an hour ago, so that clocks a little behind accept it.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(options.days) * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("rto"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                             -1, 0);
  X509* signer = issuer == nullptr ? cert.get() : issuer;
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1 || X509_set_pubkey(cert.get(), key) != 1) {
    return OpenSslError("cannot fill the certificate");
  }
  RTO_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash"));
  if (issuer == nullptr) {
    RTO_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
    RTO_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    RTO_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_authority_key_identifier, "keyid:always"));
    RTO_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE"));
    RTO_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_key_usage, "critical,digitalSignature"));
    // Every process is a server (its role's service) and a client (of the coordinator).
    RTO_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth"));
    std::vector<std::string> names;
    for (const std::string& host : options.hosts) {
      in_addr v4;
      names.push_back(absl::StrCat(::inet_pton(AF_INET, host.c_str(), &v4) == 1 ? "IP:" : "DNS:", host));
    }
    if (!names.empty()) {
      RTO_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_subject_alt_name, absl::StrJoin(names, ",")));
    }
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) return OpenSslError("cannot sign the certificate");
  return cert;
}

absl::StatusOr<std::string> Pem(X509* cert) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) return OpenSslError("cannot encode a certificate");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

absl::StatusOr<std::string> Pem(EVP_PKEY* key) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("cannot encode a private key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

absl::Status MakeDirectory(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create the directory ", dir, ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> RandomHex32() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return OpenSslError("cannot draw random bytes");
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), size));
}

absl::Status MakeRunPki(const std::string& dir, const RunPkiOptions& options) {
  if (options.principals.empty()) return absl::InvalidArgumentError("a run's credentials need a principal");
  if (options.days < 1) return absl::InvalidArgumentError("certificates must be valid for at least a day");
  RTO_RETURN_IF_ERROR(MakeDirectory(dir));
  RTO_ASSIGN_OR_RETURN(Owned<EVP_PKEY> ca_key, NewKey());
  RTO_ASSIGN_OR_RETURN(Owned<X509> ca, NewCertificate(ca_key.get(), "rto run CA", nullptr, ca_key.get(), options));
  RTO_ASSIGN_OR_RETURN(std::string ca_pem, Pem(ca.get()));
  std::vector<std::string> tokens;
  std::string table;
  for (const std::string& principal : options.principals) {
    RTO_ASSIGN_OR_RETURN(std::string token, RandomHex32());
    absl::StrAppend(&table, principal, " ", Sha256Hex(token), "\n");
    tokens.push_back(std::move(token));
  }
  for (size_t i = 0; i < options.principals.size(); ++i) {
    const std::string& principal = options.principals[i];
    const std::string sub = absl::StrCat(dir, "/", principal);
    RTO_RETURN_IF_ERROR(MakeDirectory(sub));
    RTO_ASSIGN_OR_RETURN(Owned<EVP_PKEY> key, NewKey());
    RTO_ASSIGN_OR_RETURN(Owned<X509> cert, NewCertificate(key.get(), principal, ca.get(), ca_key.get(), options));
    RTO_ASSIGN_OR_RETURN(std::string cert_pem, Pem(cert.get()));
    RTO_ASSIGN_OR_RETURN(std::string key_pem, Pem(key.get()));
    RTO_RETURN_IF_ERROR(WriteWithMode(sub + "/ca.crt", ca_pem, 0644));
    RTO_RETURN_IF_ERROR(WriteWithMode(sub + "/tls.crt", cert_pem, 0644));
    RTO_RETURN_IF_ERROR(WriteWithMode(sub + "/tls.key", key_pem, 0600));
    RTO_RETURN_IF_ERROR(WriteWithMode(sub + "/token", tokens[i] + "\n", 0600));
    RTO_RETURN_IF_ERROR(WriteWithMode(sub + "/tokens.sha256", table, 0644));
  }
  return absl::OkStatus();
}

}  // namespace rto
