#include "common/security/security_config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"

namespace rto {

absl::Status SecurityConfig::Read(ConfigReader& c) {
  for (const absl::Status& s :
       {c.Read("security.plaintext", &plaintext), c.Read("security.dir", &dir),
        c.Read("security.mutual_tls", &mutual_tls), c.Read("security.server_name", &server_name),
        c.Read("security.metrics_basic_auth_file", &metrics_basic_auth_file)}) {
    RTO_RETURN_IF_ERROR(s);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SecurityConfig::MetricsBasicAuth() const {
  if (metrics_basic_auth_file.empty()) return std::string();
  RTO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(metrics_basic_auth_file));
  const std::string line(absl::StripAsciiWhitespace(text));
  if (line.find(':') == std::string::npos || line.find('\n') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(metrics_basic_auth_file, " must hold one line, user:password"));
  }
  return line;
}

}  // namespace rto
