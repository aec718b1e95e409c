#include "common/security/security_config.h"

#include "common/util/status_macros.h"

namespace rto {

absl::Status SecurityConfig::Read(ConfigReader& c) {
  for (const absl::Status& s :
       {c.Read("security.plaintext", &plaintext), c.Read("security.dir", &dir),
        c.Read("security.mutual_tls", &mutual_tls), c.Read("security.server_name", &server_name)}) {
    RTO_RETURN_IF_ERROR(s);
  }
  return absl::OkStatus();
}

}  // namespace rto
