#include "tests/testing/tiny_models.h"

#include <ATen/CPUGeneratorImpl.h>

namespace rto::testing {

ModelConfig TinyConfig(int64_t kv_heads) {
  ModelConfig c;
  c.vocab_size = 61;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = kv_heads;
  c.head_dim = 8;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.initializer_range = 0.2;
  c.eos_token_ids = {2};
  return c;
}

std::unique_ptr<Transformer> RandomModel(const ModelConfig& config, uint64_t seed, at::ScalarType dtype) {
  auto model = Transformer::Create(config, dtype, at::kCPU);
  if (!model.ok()) throw std::runtime_error(std::string(model.status().message()));
  (*model)->InitRandom(seed);
  c10::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed + 1);
  for (const NamedParameter& p : (*model)->parameters()) {
    at::Tensor noise = at::normal(0.0, 0.2, p.tensor.sizes(), gen, at::TensorOptions().dtype(at::kFloat));
    if (p.name.ends_with("norm.weight")) p.tensor.copy_(1 + noise);
    if (p.name.ends_with(".bias")) p.tensor.copy_(noise);
  }
  return std::move(*model);
}

}  // namespace rto::testing
