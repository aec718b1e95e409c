// A decoder-only transformer of the Llama / Mistral / Qwen2 family in ATen: RMSNorm,
// rotary embeddings (HF rotate-half convention), SwiGLU MLP, grouped-query attention,
// causal + padding masks, an optional KV cache, and an LM or scalar (score) head.
//
// Parameters carry their HF names, so checkpoints map one to one onto HF directories.
// Not thread-safe: one model belongs to one actor thread.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/model/config.h"

namespace rto {

struct NamedParameter {
  std::string name;
  at::Tensor tensor;
};

// Keys and values of past tokens for batched incremental decoding. Rows of a batch share
// slot indices (prompts are left-padded to a common length); `valid` marks which slots of a
// row hold real tokens, and each row counts its own real tokens, which gives its positions.
class KVCache {
 public:
  KVCache(const ModelConfig& config, int64_t batch, int64_t capacity, at::ScalarType dtype, at::Device device);

  int64_t batch() const { return valid_.size(0); }
  int64_t length() const { return length_; }  // slots used, the same for every row
  int64_t capacity() const { return valid_.size(1); }
  // Keeps only `rows` (int64 [B']), in that order: finished sequences stop costing compute.
  void SelectRows(const at::Tensor& rows);

 private:
  friend class Transformer;
  std::vector<at::Tensor> keys_;    // per layer [B, kv_heads, capacity, head_dim]
  std::vector<at::Tensor> values_;  // per layer [B, kv_heads, capacity, head_dim]
  at::Tensor valid_;                // bool [B, capacity]
  at::Tensor num_tokens_;           // int64 [B]: real tokens so far = next position id
  int64_t length_ = 0;
};

class Transformer {
 public:
  // Parameters are allocated uninitialised; load them or call InitRandom.
  static absl::StatusOr<std::unique_ptr<Transformer>> Create(const ModelConfig& config, at::ScalarType dtype,
                                                             at::Device device);

  const ModelConfig& config() const { return config_; }
  at::ScalarType dtype() const { return dtype_; }
  at::Device device() const { return device_; }

  // In the canonical HF order (embeddings, layers, final norm, head).
  const std::vector<NamedParameter>& parameters() const { return params_; }
  // nullptr when the model has no parameter of that name.
  const at::Tensor* FindParameter(absl::string_view name) const;

  // HF's initialisation: normal(0, initializer_range) for matrices and embeddings, zero
  // biases, unit norms. Drawn in float32 on the CPU, so a seed gives the same weights
  // whatever the model's dtype or device.
  void InitRandom(uint64_t seed);

  // Runs the decoder and returns the final-normed hidden states [B, T, hidden].
  //   input_ids: int64 [B, T], all in [0, vocab_size) (see ValidateTokens).
  //   attention_mask: [B, T], nonzero for real tokens; padding may be on either side.
  //   cache: when given, the tokens follow the cache's contents and are appended to it.
  //     REQUIRES: cache->length() + T <= cache->capacity(), same batch size.
  at::Tensor Forward(const at::Tensor& input_ids, const at::Tensor& attention_mask, KVCache* cache = nullptr) const;

  // Outputs are float32 whatever the model dtype (float64 for a float64 model, which exists for
  // finite-difference gradient checks).
  // LM head: logits [..., vocab] of hidden states [..., hidden].
  at::Tensor Logits(const at::Tensor& hidden) const;
  // Score head: a scalar per position, [...] of hidden [..., hidden].
  at::Tensor Scores(const at::Tensor& hidden) const;
  // log softmax(logits / temperature)[target] for every position, with the shape of
  // `targets`. Works through the positions in chunks of `chunk_tokens` rows (0: about 64 MB of
  // logits per chunk) so that no more than one chunk of logits exists at a time, in the
  // backward pass too (it recomputes each chunk's logits).
  at::Tensor TokenLogProbs(const at::Tensor& hidden, const at::Tensor& targets, double temperature = 1.0,
                           int64_t chunk_tokens = 0) const;

  KVCache NewCache(int64_t batch, int64_t capacity) const;

  // When on, a Forward that autograd records (grad mode on, no cache) keeps only each decoder
  // layer's input and recomputes the layer in the backward pass: activation memory of one layer
  // instead of all, for one more forward pass. Off by default.
  void SetActivationCheckpointing(bool on) { activation_checkpointing_ = on; }

  // Checks shapes, dtypes and id ranges of a batch before it reaches Forward.
  absl::Status ValidateTokens(const at::Tensor& input_ids, const at::Tensor& attention_mask) const;

 private:
  struct Layer {
    at::Tensor input_norm, q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b;
    at::Tensor post_norm, gate_w, gate_b, up_w, up_b, down_w, down_b;
  };
  Transformer(ModelConfig config, at::ScalarType dtype, at::Device device);
  at::Tensor AddParameter(std::string name, std::vector<int64_t> shape);
  at::Tensor Attention(const Layer& layer, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                       const at::Tensor& mask, int64_t layer_index, KVCache* cache) const;
  const at::Tensor& HeadWeight() const;

  ModelConfig config_;
  at::ScalarType dtype_;
  at::Device device_;
  std::vector<NamedParameter> params_;
  at::Tensor embed_, final_norm_, lm_head_, score_;
  std::vector<Layer> layers_;
  at::Tensor inv_freq_;  // float32 [head_dim / 2]
  bool activation_checkpointing_ = false;
};

// Index of the last real token of each row of a mask [B, T] (int64 [B]); 0 for an empty row.
at::Tensor LastTokenIndex(const at::Tensor& attention_mask);

// "float32" / "bfloat16" / "float16" (the HF torch_dtype names) to a scalar type and back.
absl::StatusOr<at::ScalarType> ParseScalarType(absl::string_view name);
// "cpu", "cuda" or "cuda:N"; an error when this LibTorch build or machine has no such device.
absl::StatusOr<at::Device> ParseDevice(absl::string_view name);
std::string ScalarTypeName(at::ScalarType type);

}  // namespace rto
