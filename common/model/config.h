// The architecture of a decoder model, read from and written to HF `config.json`.
// Covers the Llama / Mistral / Qwen2 family. Torch-free.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rto {

// What sits on top of the decoder: HF `*ForCausalLM` (lm_head) or
// `*ForSequenceClassification` with one label (score.weight: a scalar per token).
enum class HeadKind { kLanguageModel, kScore };

struct RopeScaling {
  enum class Type { kNone, kLinear, kLlama3 };
  Type type = Type::kNone;
  double factor = 1.0;
  double low_freq_factor = 1.0;                  // llama3 only
  double high_freq_factor = 4.0;                 // llama3 only
  int64_t original_max_position_embeddings = 0;  // llama3 only
};

struct ModelConfig {
  std::string model_type = "llama";  // "llama", "mistral" or "qwen2"
  HeadKind head = HeadKind::kLanguageModel;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;  // hidden_size / num_attention_heads unless config.json says otherwise
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;                  // Qwen2 always; Llama with attention_bias
  bool o_bias = false;                    // Llama with attention_bias
  bool mlp_bias = false;                  // Llama with mlp_bias
  std::optional<int64_t> sliding_window;  // keys further back than this are not attended
  double initializer_range = 0.02;
  std::string torch_dtype = "float32";
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> pad_token_id;

  // HF class name, e.g. "LlamaForCausalLM", "Qwen2ForSequenceClassification".
  std::string ArchitectureName() const;
  int64_t NumParameters() const;
};

// Parses and validates config.json text; `source` names the file in errors.
absl::StatusOr<ModelConfig> ParseModelConfig(const std::string& json_text, const std::string& source);
absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& path);
// HF-compatible config.json text (loads in Python transformers).
std::string ModelConfigToJson(const ModelConfig& config);

}  // namespace rto
