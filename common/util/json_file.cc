#include "common/util/json_file.h"

#include "absl/strings/str_cat.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"

namespace rto {

absl::StatusOr<nlohmann::json> ReadJsonObject(const std::string& path) {
  RTO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object"));
  return j;
}

absl::StatusOr<int64_t> JsonInt(const nlohmann::json& j, const std::string& path, const char* key) {
  if (!j.contains(key) || !j[key].is_number_integer()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": missing integer '", key, "'"));
  }
  return j[key].get<int64_t>();
}

}  // namespace rto
