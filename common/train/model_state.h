// A trained model's state on disk, shared by the offline trainer and the RL learner and critic:
// the model as an HF directory with its tokenizer files, its weights restored into an existing
// model, and the AdamW moments.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/model/transformer.h"
#include "common/train/optimizer.h"

namespace rto {

// The model's parameters, switched to require gradients, in the canonical order.
std::vector<at::Tensor> TrainableParameters(Transformer& model);
// Per parameter: whether it gets weight decay (DefaultDecay of its name).
std::vector<bool> DecayFlags(const Transformer& model);

// Writes `model` as an HF directory and copies tokenizer.json, tokenizer_config.json and
// tokenizer.model from `tokenizer_dir` (those that exist), so the directory is complete.
absl::Status SaveModelWithTokenizer(const Transformer& model, const std::string& dir, const std::string& tokenizer_dir);

// Copies the weights of the HF directory `dir` into `model`; an error when they do not match.
absl::Status RestoreWeights(Transformer& model, const std::string& dir);

// The moments `optimizer` holds (all, or its shard under ZeRO-1) as float32 safetensors; its step
// count is the caller's to keep.
absl::Status SaveOptimizer(const AdamW& optimizer, const std::string& path);
// Reads the moments `optimizer` holds from whichever of `paths` has them (the shards of a
// checkpoint, saved by any number of ranks); an error names one that is missing.
absl::Status RestoreOptimizer(AdamW& optimizer, const std::vector<std::string>& paths, int64_t steps);

}  // namespace rto
