// Helpers shared by the readers of tokenizer.json's components (internal to rto_tokenizer).
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/tokenizer/split_regex.h"
#include "nlohmann/json.hpp"

namespace rto::hf {

// A component rto does not implement: Unimplemented, naming it (so a caller can fall back).
inline absl::Status Unsupported(const std::string& source, absl::string_view what) {
  return absl::UnimplementedError(absl::StrCat(source, ": ", what, " is not supported"));
}
// A file that is not what tokenizer.json must be: InvalidArgument, saying what is wrong.
inline absl::Status Malformed(const std::string& source, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
}

inline std::string TypeOf(const nlohmann::json& spec) {
  return spec.is_object() && spec.contains("type") && spec["type"].is_string() ? spec["type"].get<std::string>() : "";
}

// A string field, or `fallback` when absent or null; Malformed when it is another type.
absl::StatusOr<std::string> StringField(const nlohmann::json& spec, const char* key, const std::string& fallback,
                                        const std::string& source);

// HF's pattern object: {"String": literal} or {"Regex": pcre}.
absl::StatusOr<std::shared_ptr<const SplitRegex>> ParsePattern(const nlohmann::json& pattern,
                                                               const std::string& source);

// tokenizer_config.json's chat_template: the string, or the "default" entry of the list form
// ([{"name": ..., "template": ...}]); empty when there is none.
std::string ChatTemplateOf(const nlohmann::json& config);

}  // namespace rto::hf
