// The one JSONL reader: blank lines skipped, each other line must be valid UTF-8 holding a JSON
// object. Every problem becomes `file:line: reason`; a policy decides between failing on the
// first bad line and skipping it with a count. Torch-free.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace rto {

enum class BadLinePolicy { kFail, kSkip };

// What a read saw, so that skipped lines are counted and shown, never silent.
struct ReadReport {
  int64_t lines = 0;                      // non-blank lines
  int64_t rows = 0;                       // lines accepted
  int64_t skipped = 0;                    // bad lines skipped under BadLinePolicy::kSkip
  std::vector<std::string> first_errors;  // up to 10 `file:line: reason` messages
};

// Calls `row(line_number, object)` for each line; a non-OK return marks the line bad with that
// reason. Returns NotFound for a missing file, the first bad line's error under kFail, and an
// error when no line was accepted ("an empty dataset is an error").
absl::Status ReadJsonl(const std::string& path, BadLinePolicy policy, ReadReport* report,
                       const std::function<absl::Status(int64_t line, const nlohmann::json& object)>& row);

}  // namespace rto
