#include "common/data/dataset.h"

#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/tokenizer/unicode.h"
#include "nlohmann/json.hpp"

namespace rto {
namespace {

using nlohmann::json;

// The reason a line is bad, or OK. Parsers return this; the reader adds file:line.
using LineResult = absl::Status;

absl::Status Bad(absl::string_view why) { return absl::InvalidArgumentError(std::string(why)); }

absl::Status ParseText(const json& j, const std::string& key, std::string* out) {
  if (!j.is_string()) return Bad(absl::StrCat("'", key, "' must be a string, got ", j.type_name()));
  *out = j.get<std::string>();
  if (absl::StripAsciiWhitespace(*out).empty()) return Bad(absl::StrCat("'", key, "' is empty"));
  return absl::OkStatus();
}

absl::Status ParseMessages(const json& j, const std::string& key, std::vector<ChatMessage>* out) {
  if (!j.is_array() || j.empty()) return Bad(absl::StrCat("'", key, "' must be a non-empty list of messages"));
  for (size_t i = 0; i < j.size(); ++i) {
    const json& m = j[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string()) {
      return Bad(absl::StrCat("'", key, "'[", i, "] must be an object with string 'role' and 'content'"));
    }
    std::string role = m["role"];
    if (role != "system" && role != "user" && role != "assistant") {
      return Bad(absl::StrCat("'", key, "'[", i, "] has role '", role, "', not system, user or assistant"));
    }
    out->push_back({role, m["content"]});
  }
  return absl::OkStatus();
}

// A prompt given as a string (one user turn) or as messages.
absl::Status ParsePrompt(const json& row, const std::string& key, std::vector<ChatMessage>* out) {
  if (!row.contains(key)) return Bad(absl::StrCat("missing key '", key, "'"));
  const json& p = row[key];
  if (p.is_string()) {
    std::string text;
    if (auto s = ParseText(p, key, &text); !s.ok()) return s;
    out->push_back({"user", text});
    return absl::OkStatus();
  }
  return ParseMessages(p, key, out);
}

// A response given as a string, or as messages whose last turn is the assistant's response
// (the turns before it are then the prompt, when `prompt` is not yet known).
absl::Status ParseResponse(const json& row, const std::string& key, std::string* response,
                           std::vector<ChatMessage>* prompt_from_messages) {
  if (!row.contains(key)) return Bad(absl::StrCat("missing key '", key, "'"));
  const json& r = row[key];
  if (r.is_string()) return ParseText(r, key, response);
  std::vector<ChatMessage> messages;
  if (auto s = ParseMessages(r, key, &messages); !s.ok()) return s;
  if (messages.back().role != "assistant")
    return Bad(absl::StrCat("the last message of '", key, "' is not the assistant's"));
  if (absl::StripAsciiWhitespace(messages.back().content).empty())
    return Bad(absl::StrCat("'", key, "' has an empty response"));
  *response = messages.back().content;
  messages.pop_back();
  if (prompt_from_messages != nullptr) *prompt_from_messages = std::move(messages);
  return absl::OkStatus();
}

template <typename Row>
absl::StatusOr<std::vector<Row>> ReadRows(const std::string& path, const ReadOptions& options, ReadReport* report,
                                          const std::function<absl::Status(const json&, Row*)>& parse) {
  std::vector<Row> rows;
  absl::Status status = ReadJsonl(path, options.bad_lines, report, [&](int64_t line, const json& j) {
    Row row{};
    if (absl::Status s = parse(j, &row); !s.ok()) return s;
    row.line = line;
    rows.push_back(std::move(row));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return rows;
}

}  // namespace

absl::StatusOr<std::vector<PromptRow>> ReadPrompts(const std::string& path, const ReadOptions& options,
                                                   ReadReport* report) {
  const DatasetKeys& k = options.keys;
  return ReadRows<PromptRow>(path, options, report, [&](const json& j, PromptRow* row) -> absl::Status {
    if (j.contains(k.prompt)) return ParsePrompt(j, k.prompt, &row->prompt);
    if (j.contains(k.messages)) return ParseMessages(j[k.messages], k.messages, &row->prompt);
    return Bad(absl::StrCat("missing key '", k.prompt, "' (or '", k.messages, "')"));
  });
}

absl::StatusOr<std::vector<PreferenceRow>> ReadPreferences(const std::string& path, const ReadOptions& options,
                                                           ReadReport* report) {
  const DatasetKeys& k = options.keys;
  return ReadRows<PreferenceRow>(path, options, report, [&](const json& j, PreferenceRow* row) -> absl::Status {
    std::vector<ChatMessage> chosen_prompt, rejected_prompt;
    if (auto s = ParseResponse(j, k.chosen, &row->chosen, &chosen_prompt); !s.ok()) return s;
    if (auto s = ParseResponse(j, k.rejected, &row->rejected, &rejected_prompt); !s.ok()) return s;
    if (!chosen_prompt.empty()) {
      // UltraFeedback style: the conversations hold the prompt; both must hold the same one.
      if (chosen_prompt.size() != rejected_prompt.size()) return Bad("'chosen' and 'rejected' have different prompts");
      for (size_t i = 0; i < chosen_prompt.size(); ++i) {
        if (chosen_prompt[i].role != rejected_prompt[i].role ||
            chosen_prompt[i].content != rejected_prompt[i].content) {
          return Bad("'chosen' and 'rejected' have different prompts");
        }
      }
      row->prompt = std::move(chosen_prompt);
      return absl::OkStatus();
    }
    return ParsePrompt(j, k.prompt, &row->prompt);
  });
}

absl::StatusOr<std::vector<SftRow>> ReadSft(const std::string& path, const ReadOptions& options, ReadReport* report) {
  const DatasetKeys& k = options.keys;
  return ReadRows<SftRow>(path, options, report, [&](const json& j, SftRow* row) -> absl::Status {
    if (j.contains(k.messages) && !j.contains(k.response)) {
      if (auto s = ParseResponse(j, k.messages, &row->response, &row->prompt); !s.ok()) return s;
      if (row->prompt.empty()) return Bad(absl::StrCat("'", k.messages, "' has no turn before the response"));
      return absl::OkStatus();
    }
    if (auto s = ParsePrompt(j, k.prompt, &row->prompt); !s.ok()) return s;
    return ParseResponse(j, k.response, &row->response, nullptr);
  });
}

}  // namespace rto
