// Tiny random models for tests: configs of each family and a way to make every weight
// (norms and biases included) matter.
#pragma once

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <memory>

#include "common/model/transformer.h"

namespace rto::testing {

// A 2-layer Llama with vocab 61, hidden 32, 4 query heads over `kv_heads` key/value heads.
ModelConfig TinyConfig(int64_t kv_heads = 2);

// A model with random weights where norms are ~1 +- 0.2 and biases nonzero, so a bug in
// any of them shows up in the logits.
std::unique_ptr<Transformer> RandomModel(const ModelConfig& config, uint64_t seed, at::ScalarType dtype = at::kFloat);

}  // namespace rto::testing
