// Models as HF directories: config.json + safetensors weights with HF tensor names, so a
// model saved here loads in Python transformers and a Hub model directory loads here.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/model/transformer.h"

namespace rto {

struct LoadOptions {
  // The dtype to compute in; defaults to the config's torch_dtype.
  std::optional<at::ScalarType> dtype;
  // Compute in the dtype the weights are stored in (StoredDType) instead; `dtype` is ignored.
  bool stored_dtype = false;
  at::Device device = at::kCPU;
  // Load the backbone under another head than config.json names, e.g. a reward model
  // initialised from an SFT (causal LM) directory. The LM head in the file is then ignored.
  std::optional<HeadKind> head;
  // When set, a missing score.weight is initialised randomly with this seed instead of
  // being an error (a fresh reward/value head on a pretrained backbone).
  std::optional<uint64_t> init_missing_score_seed;
  // For frozen models: a parameter whose stored dtype is the compute dtype (on the CPU, aligned)
  // is a view of the file's read-only memory map instead of a copy, so the processes of a node
  // that load one file share one copy in the page cache, which the kernel may also drop and
  // reread under pressure. The mapping lives as long as any such parameter.
  // REQUIRES: nothing ever writes the model's parameters (a write faults: SIGSEGV).
  bool map_weights = false;
};

// The dtype the directory's weights are stored in: that of most of its floating-point elements.
absl::StatusOr<at::ScalarType> StoredDType(const std::string& dir);

// Validates config.json and every tensor (names, shapes, dtypes) before building the model.
// Each error names the file and the tensor.
absl::StatusOr<std::unique_ptr<Transformer>> LoadModel(const std::string& dir, const LoadOptions& options = {});

struct SaveOptions {
  // The dtype stored on disk; defaults to the model's own.
  std::optional<at::ScalarType> dtype;
  // Split into HF shards above this many bytes; 0 writes a single model.safetensors.
  uint64_t max_shard_bytes = 0;
};

// Writes config.json and the weights into `dir` (created if needed). Each file is replaced
// atomically; atomicity of the directory as a whole is the checkpoint manager's job.
absl::Status SaveModel(const Transformer& model, const std::string& dir, const SaveOptions& options = {});

}  // namespace rto
