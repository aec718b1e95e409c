#include "common/tokenizer/hf_json.h"

namespace rto::hf {

absl::StatusOr<std::string> StringField(const nlohmann::json& spec, const char* key, const std::string& fallback,
                                        const std::string& source) {
  if (!spec.is_object() || !spec.contains(key) || spec[key].is_null()) return fallback;
  if (!spec[key].is_string())
    return Malformed(source, absl::StrCat("'", key, "' of ", TypeOf(spec), " is not a string"));
  return spec[key].get<std::string>();
}

absl::StatusOr<std::shared_ptr<const SplitRegex>> ParsePattern(const nlohmann::json& pattern,
                                                               const std::string& source) {
  absl::StatusOr<std::unique_ptr<SplitRegex>> regex;
  if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string()) {
    regex = SplitRegex::CreateLiteral(pattern["String"].get<std::string>());
  } else if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()) {
    regex = SplitRegex::Create(pattern["Regex"].get<std::string>());
  } else {
    return Malformed(source, "a pattern is neither {\"String\": ...} nor {\"Regex\": ...}");
  }
  if (!regex.ok()) return Malformed(source, regex.status().message());
  return std::shared_ptr<const SplitRegex>(std::move(*regex));
}

std::string ChatTemplateOf(const nlohmann::json& config) {
  if (!config.is_object() || !config.contains("chat_template")) return "";
  const nlohmann::json& tmpl = config["chat_template"];
  if (tmpl.is_string()) return tmpl.get<std::string>();
  if (!tmpl.is_array()) return "";
  for (const nlohmann::json& named : tmpl) {
    if (named.is_object() && named.value("name", "") == "default" && named.contains("template") &&
        named["template"].is_string()) {
      return named["template"].get<std::string>();
    }
  }
  return "";
}

}  // namespace rto::hf
