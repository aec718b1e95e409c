// `rto train sft`: supervised fine-tuning on (prompt, response) pairs, cross-entropy on the
// response tokens only. Checkpoints hold everything resume needs (weights, optimiser moments,
// step, data position), and a resumed run ends with the same weights, bitwise on the CPU, as
// one that never stopped.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "common/config/config.h"
#include "common/train/trainer.h"

namespace rto {

struct SftJobConfig {
  std::string model;          // HF directory of the initial model, with its tokenizer
  std::string data;           // SFT JSONL
  std::string out;            // the run directory
  std::string chat_template;  // empty: detect from the tokenizer
  int64_t max_prompt_tokens = 256;
  int64_t max_response_tokens = 256;
  TrainOptions train;

  // Reads every field (and rejects unknown keys).
  absl::Status Read(ConfigReader& config);
};

// REQUIRES: config.Read succeeded. `resolved_config` is saved in the run directory.
absl::Status RunSft(const SftJobConfig& config, const std::string& resolved_config, bool resume);

}  // namespace rto
