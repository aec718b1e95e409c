#include "common/model/config.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace rto {
namespace {

using nlohmann::json;

// Reads typed keys of one JSON object, naming the file and key in every error.
class Reader {
 public:
  Reader(const json& j, std::string source) : j_(j), source_(std::move(source)) {}

  absl::Status Error(absl::string_view key, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(source_, ": '", key, "' ", what));
  }
  bool Present(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }

  absl::StatusOr<int64_t> Int(const char* key, std::optional<int64_t> fallback, int64_t min, int64_t max) const {
    if (!Present(key)) {
      if (fallback) return *fallback;
      return Error(key, "is required");
    }
    const json& v = j_.at(key);
    if (!v.is_number_integer()) return Error(key, absl::StrCat("must be an integer, got ", v.type_name()));
    int64_t x = v.get<int64_t>();
    if (x < min || x > max) return Error(key, absl::StrCat("is ", x, ", outside [", min, ", ", max, "]"));
    return x;
  }
  absl::StatusOr<double> Double(const char* key, double fallback, double min_exclusive, double max) const {
    if (!Present(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_number()) return Error(key, absl::StrCat("must be a number, got ", v.type_name()));
    double x = v.get<double>();
    if (!(x > min_exclusive && x <= max))
      return Error(key, absl::StrCat("is ", x, ", outside (", min_exclusive, ", ", max, "]"));
    return x;
  }
  absl::StatusOr<bool> Bool(const char* key, bool fallback) const {
    if (!Present(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_boolean()) return Error(key, absl::StrCat("must be true or false, got ", v.type_name()));
    return v.get<bool>();
  }
  absl::StatusOr<std::string> String(const char* key, const std::string& fallback) const {
    if (!Present(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_string()) return Error(key, absl::StrCat("must be a string, got ", v.type_name()));
    return v.get<std::string>();
  }
  absl::StatusOr<std::optional<int64_t>> OptionalTokenId(const char* key) const {
    if (!Present(key)) return std::optional<int64_t>();
    RTO_ASSIGN_OR_RETURN(int64_t id, Int(key, std::nullopt, 0, INT32_MAX));
    return std::optional<int64_t>(id);
  }

 private:
  const json& j_;
  std::string source_;
};

constexpr int64_t kMaxDim = 1 << 20;

absl::Status ParseRopeScaling(const json& j, const std::string& source, RopeScaling* out) {
  if (j.is_null()) return absl::OkStatus();
  if (!j.is_object())
    return absl::InvalidArgumentError(absl::StrCat(source, ": 'rope_scaling' must be an object or null"));
  Reader r(j, absl::StrCat(source, ": rope_scaling"));
  RTO_ASSIGN_OR_RETURN(std::string type, r.String("rope_type", ""));
  if (type.empty()) {  // older configs
    RTO_ASSIGN_OR_RETURN(type, r.String("type", "default"));
  }
  if (type == "default") return absl::OkStatus();
  RTO_ASSIGN_OR_RETURN(out->factor, r.Double("factor", 1.0, 0.0, 1e6));
  if (type == "linear") {
    out->type = RopeScaling::Type::kLinear;
  } else if (type == "llama3") {
    out->type = RopeScaling::Type::kLlama3;
    RTO_ASSIGN_OR_RETURN(out->low_freq_factor, r.Double("low_freq_factor", 1.0, 0.0, 1e6));
    RTO_ASSIGN_OR_RETURN(out->high_freq_factor, r.Double("high_freq_factor", 4.0, 0.0, 1e6));
    RTO_ASSIGN_OR_RETURN(out->original_max_position_embeddings,
                         r.Int("original_max_position_embeddings", std::nullopt, 1, 1 << 24));
    if (out->high_freq_factor <= out->low_freq_factor) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": rope_scaling high_freq_factor must exceed low_freq_factor"));
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": rope_scaling type '", type, "' is not supported (supported: default, linear, llama3)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string ModelConfig::ArchitectureName() const {
  std::string family = model_type == "qwen2" ? "Qwen2" : model_type == "mistral" ? "Mistral" : "Llama";
  return family + (head == HeadKind::kScore ? "ForSequenceClassification" : "ForCausalLM");
}

int64_t ModelConfig::NumParameters() const {
  const int64_t q = num_attention_heads * head_dim, kv = num_key_value_heads * head_dim;
  int64_t attn = hidden_size * q + 2 * hidden_size * kv + q * hidden_size;
  if (qkv_bias) attn += q + 2 * kv;
  if (o_bias) attn += hidden_size;
  int64_t mlp = 3 * hidden_size * intermediate_size;
  if (mlp_bias) mlp += 2 * intermediate_size + hidden_size;
  int64_t layer = attn + mlp + 2 * hidden_size;
  int64_t total = vocab_size * hidden_size + num_hidden_layers * layer + hidden_size;
  if (head == HeadKind::kScore) return total + hidden_size;
  return tie_word_embeddings ? total : total + vocab_size * hidden_size;
}

absl::StatusOr<ModelConfig> ParseModelConfig(const std::string& json_text, const std::string& source) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": not valid JSON: ", e.what()));
  }
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(source, ": not a JSON object"));
  Reader r(j, source);
  ModelConfig c;

  RTO_ASSIGN_OR_RETURN(c.model_type, r.String("model_type", ""));
  if (c.model_type != "llama" && c.model_type != "mistral" && c.model_type != "qwen2") {
    return r.Error("model_type", absl::StrCat("is '", c.model_type, "'; supported: llama, mistral, qwen2"));
  }
  if (r.Present("architectures")) {
    const json& archs = j.at("architectures");
    if (!archs.is_array() || archs.empty() || !archs[0].is_string()) {
      return r.Error("architectures", "must be a non-empty list of class names");
    }
    std::string arch = archs[0].get<std::string>();
    if (absl::EndsWith(arch, "ForSequenceClassification")) {
      c.head = HeadKind::kScore;
    } else if (!absl::EndsWith(arch, "ForCausalLM")) {
      return r.Error("architectures",
                     absl::StrCat("names '", arch, "'; supported: *ForCausalLM, *ForSequenceClassification"));
    }
  }
  if (c.head == HeadKind::kScore) {
    int64_t labels = 1;
    if (r.Present("id2label") && j.at("id2label").is_object()) labels = static_cast<int64_t>(j.at("id2label").size());
    RTO_ASSIGN_OR_RETURN(labels, r.Int("num_labels", labels, 1, kMaxDim));
    if (labels != 1)
      return r.Error("num_labels", absl::StrCat("is ", labels, "; reward and value models have exactly 1"));
  }
  RTO_ASSIGN_OR_RETURN(std::string act, r.String("hidden_act", "silu"));
  if (act != "silu") return r.Error("hidden_act", absl::StrCat("is '", act, "'; only silu (SwiGLU) is supported"));

  RTO_ASSIGN_OR_RETURN(c.vocab_size, r.Int("vocab_size", std::nullopt, 1, 1 << 24));
  RTO_ASSIGN_OR_RETURN(c.hidden_size, r.Int("hidden_size", std::nullopt, 1, kMaxDim));
  RTO_ASSIGN_OR_RETURN(c.intermediate_size, r.Int("intermediate_size", std::nullopt, 1, kMaxDim));
  RTO_ASSIGN_OR_RETURN(c.num_hidden_layers, r.Int("num_hidden_layers", std::nullopt, 1, 4096));
  RTO_ASSIGN_OR_RETURN(c.num_attention_heads, r.Int("num_attention_heads", std::nullopt, 1, 4096));
  RTO_ASSIGN_OR_RETURN(c.num_key_value_heads, r.Int("num_key_value_heads", c.num_attention_heads, 1, 4096));
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return r.Error("num_key_value_heads",
                   absl::StrCat("(", c.num_key_value_heads, ") does not divide num_attention_heads (",
                                c.num_attention_heads, ")"));
  }
  if (r.Present("head_dim")) {
    RTO_ASSIGN_OR_RETURN(c.head_dim, r.Int("head_dim", std::nullopt, 2, 4096));
  } else {
    if (c.hidden_size % c.num_attention_heads != 0) {
      return r.Error("num_attention_heads", absl::StrCat("(", c.num_attention_heads, ") does not divide hidden_size (",
                                                         c.hidden_size, ") and no head_dim is given"));
    }
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  if (c.head_dim % 2 != 0)
    return r.Error("head_dim", absl::StrCat("is ", c.head_dim, "; rotary embeddings need it even"));
  RTO_ASSIGN_OR_RETURN(c.max_position_embeddings, r.Int("max_position_embeddings", 2048, 1, 1 << 24));
  RTO_ASSIGN_OR_RETURN(c.rms_norm_eps, r.Double("rms_norm_eps", 1e-6, 0.0, 1.0));
  RTO_ASSIGN_OR_RETURN(c.initializer_range, r.Double("initializer_range", 0.02, 0.0, 10.0));
  // transformers 4.x writes top-level rope_theta + rope_scaling; 5.x one "rope_parameters"
  // object holding rope_type, rope_theta and the scaling fields.
  RTO_ASSIGN_OR_RETURN(c.rope_theta, r.Double("rope_theta", 10000.0, 0.0, 1e12));
  if (r.Present("rope_parameters")) {
    const json& rope = j.at("rope_parameters");
    if (!rope.is_object()) return r.Error("rope_parameters", "must be an object");
    RTO_ASSIGN_OR_RETURN(
        c.rope_theta,
        Reader(rope, absl::StrCat(source, ": rope_parameters")).Double("rope_theta", c.rope_theta, 0.0, 1e12));
    RTO_RETURN_IF_ERROR(ParseRopeScaling(rope, absl::StrCat(source, ": rope_parameters"), &c.rope_scaling));
  } else if (r.Present("rope_scaling")) {
    RTO_RETURN_IF_ERROR(ParseRopeScaling(j.at("rope_scaling"), source, &c.rope_scaling));
  }
  RTO_ASSIGN_OR_RETURN(c.tie_word_embeddings, r.Bool("tie_word_embeddings", false));

  if (c.model_type == "qwen2") {
    c.qkv_bias = true;
    RTO_ASSIGN_OR_RETURN(bool use_window, r.Bool("use_sliding_window", false));
    if (use_window) {
      // Qwen2 windows only the layers from max_window_layers on; one window for all is wrong.
      return r.Error("use_sliding_window", "is true; Qwen2's per-layer sliding window is not supported");
    }
  } else if (c.model_type == "mistral") {
    if (r.Present("sliding_window")) {
      RTO_ASSIGN_OR_RETURN(int64_t w, r.Int("sliding_window", std::nullopt, 1, 1 << 24));
      c.sliding_window = w;
    }
  } else {
    RTO_ASSIGN_OR_RETURN(bool attention_bias, r.Bool("attention_bias", false));
    c.qkv_bias = c.o_bias = attention_bias;
    RTO_ASSIGN_OR_RETURN(c.mlp_bias, r.Bool("mlp_bias", false));
  }

  // transformers >= 4.56 writes "dtype"; older versions "torch_dtype".
  RTO_ASSIGN_OR_RETURN(c.torch_dtype, r.String("torch_dtype", "float32"));
  RTO_ASSIGN_OR_RETURN(c.torch_dtype, r.String("dtype", c.torch_dtype));
  if (c.torch_dtype != "float32" && c.torch_dtype != "bfloat16" && c.torch_dtype != "float16") {
    return r.Error("torch_dtype", absl::StrCat("is '", c.torch_dtype, "'; supported: float32, bfloat16, float16"));
  }

  RTO_ASSIGN_OR_RETURN(c.bos_token_id, r.OptionalTokenId("bos_token_id"));
  RTO_ASSIGN_OR_RETURN(c.pad_token_id, r.OptionalTokenId("pad_token_id"));
  if (r.Present("eos_token_id")) {
    const json& eos = j.at("eos_token_id");
    if (eos.is_array()) {
      for (const json& e : eos) {
        if (!e.is_number_unsigned()) return r.Error("eos_token_id", "must be a token id or a list of token ids");
        c.eos_token_ids.push_back(e.get<int64_t>());
      }
    } else {
      RTO_ASSIGN_OR_RETURN(int64_t id, r.Int("eos_token_id", std::nullopt, 0, INT32_MAX));
      c.eos_token_ids.push_back(id);
    }
  }
  for (auto [name, id] : {std::pair{"bos_token_id", c.bos_token_id}, std::pair{"pad_token_id", c.pad_token_id}}) {
    if (id && *id >= c.vocab_size)
      return r.Error(name, absl::StrCat("is ", *id, ", outside the vocabulary of ", c.vocab_size));
  }
  for (int64_t id : c.eos_token_ids) {
    if (id >= c.vocab_size)
      return r.Error("eos_token_id", absl::StrCat("is ", id, ", outside the vocabulary of ", c.vocab_size));
  }
  return c;
}

absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& path) {
  RTO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseModelConfig(text, path);
}

std::string ModelConfigToJson(const ModelConfig& c) {
  json j;
  j["architectures"] = {c.ArchitectureName()};
  j["model_type"] = c.model_type;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["hidden_act"] = "silu";
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  switch (c.rope_scaling.type) {
    case RopeScaling::Type::kNone: j["rope_scaling"] = nullptr; break;
    case RopeScaling::Type::kLinear:
      j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", c.rope_scaling.factor}};
      break;
    case RopeScaling::Type::kLlama3:
      j["rope_scaling"] = {{"rope_type", "llama3"},
                           {"factor", c.rope_scaling.factor},
                           {"low_freq_factor", c.rope_scaling.low_freq_factor},
                           {"high_freq_factor", c.rope_scaling.high_freq_factor},
                           {"original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings}};
      break;
  }
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  if (c.model_type == "llama") {
    j["attention_bias"] = c.qkv_bias;
    j["mlp_bias"] = c.mlp_bias;
  } else if (c.model_type == "mistral") {
    j["sliding_window"] = c.sliding_window ? json(*c.sliding_window) : json(nullptr);
  } else {
    j["use_sliding_window"] = false;
  }
  j["initializer_range"] = c.initializer_range;
  j["torch_dtype"] = c.torch_dtype;
  if (c.bos_token_id) j["bos_token_id"] = *c.bos_token_id;
  if (c.pad_token_id) j["pad_token_id"] = *c.pad_token_id;
  if (c.eos_token_ids.size() == 1) j["eos_token_id"] = c.eos_token_ids[0];
  if (c.eos_token_ids.size() > 1) j["eos_token_id"] = c.eos_token_ids;
  if (c.head == HeadKind::kScore) {
    j["num_labels"] = 1;
    j["id2label"] = {{"0", "LABEL_0"}};
    j["label2id"] = {{"LABEL_0", 0}};
  }
  return j.dump(2) + "\n";
}

}  // namespace rto
