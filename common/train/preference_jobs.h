// `rto train rm` and `rto train dpo`: the two jobs that learn from preference pairs.
//
// RM: a scalar head on the last token of prompt + response, Bradley-Terry loss; accuracy and
// margin on a held-out split; the mean/std of its scores on the training pairs are saved in
// `<out>/final/reward_normalization.json` so PPO can normalise rewards. Initialised from a causal
// LM (a fresh score head) or from a reward model; saved as HF *ForSequenceClassification.
//
// DPO: the sigmoid loss with beta, cDPO label smoothing, or IPO (on per-token mean log-probs,
// as TRL); the reference's log-probs computed once up front (`reference_mode: precompute`) or
// on the fly (`online`).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "common/config/config.h"
#include "common/train/losses.h"
#include "common/train/trainer.h"

namespace rto {

struct PreferenceData {
  std::string model;  // HF directory to start from (with its tokenizer)
  std::string data;   // preference JSONL
  std::string out;
  std::string chat_template;  // empty: detect
  int64_t max_prompt_tokens = 256;
  int64_t max_response_tokens = 256;
  absl::Status Read(ConfigReader& config);
};

struct RmJobConfig {
  PreferenceData data;
  double eval_fraction = 0.1;  // held out for accuracy
  // reward_normalization.json is the mean and std of the final model's scores on at most this
  // many training pairs (a seeded sample; 0: all of them), so its cost stays bounded.
  int64_t normalization_pairs = 2048;
  TrainOptions train;
  absl::Status Read(ConfigReader& config);
};

struct DpoJobConfig {
  PreferenceData data;
  std::string reference;  // empty: the initial model
  std::string loss = "sigmoid";
  double beta = 0.1;
  double label_smoothing = 0.0;
  std::string reference_mode = "precompute";  // or "online"
  TrainOptions train;
  absl::Status Read(ConfigReader& config);
};

absl::Status RunRm(const RmJobConfig& config, const std::string& resolved_config, bool resume);
absl::Status RunDpo(const DpoJobConfig& config, const std::string& resolved_config, bool resume);

}  // namespace rto
