#include "common/data/jsonl.h"

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/tokenizer/unicode.h"

namespace rto {

absl::Status ReadJsonl(const std::string& path, BadLinePolicy policy, ReadReport* report,
                       const std::function<absl::Status(int64_t, const nlohmann::json&)>& row) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  ReadReport local;
  ReadReport& r = report != nullptr ? *report : local;
  r = ReadReport();
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    ++r.lines;
    absl::Status status;
    if (!unicode::IsValidUtf8(line)) {
      status = absl::InvalidArgumentError("invalid UTF-8");
    } else {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        status = absl::InvalidArgumentError(absl::StrCat("not valid JSON: ", e.what()));
      }
      if (status.ok() && !j.is_object()) status = absl::InvalidArgumentError("not a JSON object");
      if (status.ok()) status = row(line_no, j);
    }
    if (status.ok()) {
      ++r.rows;
      continue;
    }
    std::string message = absl::StrCat(path, ":", line_no, ": ", status.message());
    if (policy == BadLinePolicy::kFail) return absl::InvalidArgumentError(message);
    ++r.skipped;
    if (r.first_errors.size() < 10) r.first_errors.push_back(message);
  }
  if (r.rows == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no usable rows (", r.lines, " lines, ", r.skipped, " bad)"));
  }
  return absl::OkStatus();
}

}  // namespace rto
