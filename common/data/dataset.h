// JSONL datasets in the formats users already have: RL prompts, preference pairs (as in
// UltraFeedback-binarized) and SFT pairs, with configurable keys. Every bad line is reported as
// `file:line: reason`; a policy decides between failing on the first and skipping with a count.
// Nothing is dropped silently and an empty dataset is an error. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/data/jsonl.h"
#include "common/tokenizer/chat_template.h"

namespace rto {

// Keys of the JSON objects, like OpenRLHF's input_key / chosen_key / rejected_key.
struct DatasetKeys {
  std::string prompt = "prompt";      // a string, or a list of {role, content} messages
  std::string messages = "messages";  // a whole conversation; its last assistant turn is the response
  std::string chosen = "chosen";      // a string (the response), or messages ending in the response
  std::string rejected = "rejected";
  std::string response = "response";
};

struct ReadOptions {
  DatasetKeys keys;
  BadLinePolicy bad_lines = BadLinePolicy::kFail;
};

struct PromptRow {
  int64_t line;
  std::vector<ChatMessage> prompt;
};
struct PreferenceRow {
  int64_t line;
  std::vector<ChatMessage> prompt;
  std::string chosen, rejected;
};
struct SftRow {
  int64_t line;
  std::vector<ChatMessage> prompt;
  std::string response;
};

absl::StatusOr<std::vector<PromptRow>> ReadPrompts(const std::string& path, const ReadOptions& options,
                                                   ReadReport* report = nullptr);
absl::StatusOr<std::vector<PreferenceRow>> ReadPreferences(const std::string& path, const ReadOptions& options,
                                                           ReadReport* report = nullptr);
absl::StatusOr<std::vector<SftRow>> ReadSft(const std::string& path, const ReadOptions& options,
                                            ReadReport* report = nullptr);

}  // namespace rto
