#include "common/model/transformer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <functional>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace rto {
namespace {

// Reductions, softmax and outputs run in float32, or in float64 for a float64 model (which the
// finite-difference gradient tests use).
at::ScalarType ComputeType(at::ScalarType t) { return t == at::kDouble ? at::kDouble : at::kFloat; }

at::Tensor RmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  // As HF: normalise in float32, cast back, then scale in the model dtype.
  at::Tensor xf = x.to(ComputeType(x.scalar_type()));
  xf = xf * at::rsqrt(xf.pow(2).mean({-1}, /*keepdim=*/true) + eps);
  return weight * xf.to(x.scalar_type());
}

at::Tensor RotateHalf(const at::Tensor& x) {
  int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

at::Tensor Linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  return b.defined() ? at::linear(x, w, b) : at::linear(x, w);
}

// Inverse frequencies of the rotary embedding, float32 as HF computes them.
at::Tensor InverseFrequencies(const ModelConfig& c) {
  at::Tensor exponents = at::arange(0, c.head_dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(c.head_dim);
  at::Tensor inv_freq = 1.0 / at::pow(c.rope_theta, exponents);
  const RopeScaling& s = c.rope_scaling;
  if (s.type == RopeScaling::Type::kLinear) return inv_freq / s.factor;
  if (s.type == RopeScaling::Type::kLlama3) {
    // Llama 3.1: long wavelengths are slowed by `factor`, short ones kept, and the band
    // between is interpolated smoothly.
    double old_len = static_cast<double>(s.original_max_position_embeddings);
    double low_freq_wavelen = old_len / s.low_freq_factor;
    double high_freq_wavelen = old_len / s.high_freq_factor;
    at::Tensor wavelen = 2 * M_PI / inv_freq;
    at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / s.factor, inv_freq);
    at::Tensor smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    at::Tensor smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
    at::Tensor medium = (wavelen >= high_freq_wavelen).logical_and(wavelen <= low_freq_wavelen);
    return at::where(medium, smoothed, scaled);
  }
  return inv_freq;
}

// The most negative finite value of a dtype: the additive mask of keys a query may not see. Not
// -inf: a row with no visible key (a pad query) then gets uniform weights instead of NaN, and
// its output is ignored.
double MaskValue(at::ScalarType t) {
  if (t == at::kHalf) return static_cast<double>(std::numeric_limits<c10::Half>::lowest());
  if (t == at::kBFloat16) return static_cast<double>(std::numeric_limits<c10::BFloat16>::lowest());
  return std::numeric_limits<float>::lowest();
}

// Rows of hidden states per chunk of the LM head, so that one chunk of logits is about 64 MB of
// float32 whatever the vocabulary.
int64_t ChunkRows(int64_t vocab, int64_t chunk_tokens) {
  return chunk_tokens > 0 ? chunk_tokens : std::max<int64_t>(1, (int64_t{16} << 20) / std::max<int64_t>(vocab, 1));
}

// log softmax(h W^T / temperature)[target] per row, a chunk of rows at a time, in the compute
// dtype. Returns the log-probs [N] and the log-sum-exps [N].
std::pair<at::Tensor, at::Tensor> ChunkedLogProbs(const at::Tensor& h, const at::Tensor& w, const at::Tensor& targets,
                                                  double temperature, int64_t rows, at::ScalarType compute) {
  at::Tensor logprobs = at::empty({h.size(0)}, h.options().dtype(compute));
  at::Tensor lse = at::empty({h.size(0)}, h.options().dtype(compute));
  for (int64_t start = 0; start < h.size(0); start += rows) {
    const int64_t n = std::min(rows, h.size(0) - start);
    at::Tensor logits = at::linear(h.narrow(0, start, n), w).to(compute);
    if (temperature != 1.0) logits.div_(temperature);
    at::Tensor chunk_lse = logits.logsumexp(-1);
    lse.narrow(0, start, n).copy_(chunk_lse);
    logprobs.narrow(0, start, n)
        .copy_(logits.gather(1, targets.narrow(0, start, n).unsqueeze(1)).squeeze(1) - chunk_lse);
  }
  return {logprobs, lse};
}

// The same with a backward pass that recomputes each chunk's logits instead of keeping them:
// training never holds more than one chunk of [rows, vocab] at a time (autograd through the
// plain loop would keep every chunk's logits, softmax and their gradients alive). With
// p = softmax(z), z = h W^T / T and upstream gradient g per row:
//   dz = g (onehot(target) - p) / T,   dh = dz W,   dW = dz^T h.
// The backward pass costs one extra product of the LM head (recomputing z).
class LogProbsFunction : public torch::autograd::Function<LogProbsFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& h, const at::Tensor& w,
                            const at::Tensor& targets, double temperature, int64_t rows) {
    const at::ScalarType compute = ComputeType(h.scalar_type());
    auto [logprobs, lse] = ChunkedLogProbs(h, w, targets, temperature, rows, compute);
    ctx->save_for_backward({h, w, targets, lse});
    ctx->saved_data["temperature"] = temperature;
    ctx->saved_data["rows"] = rows;
    return logprobs;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &h = saved[0], &w = saved[1], &targets = saved[2], &lse = saved[3];
    const double temperature = ctx->saved_data["temperature"].toDouble();
    const int64_t rows = ctx->saved_data["rows"].toInt();
    const at::Tensor g = grads[0].contiguous();
    at::Tensor grad_h = at::empty_like(h), grad_w = at::zeros_like(w);
    for (int64_t start = 0; start < h.size(0); start += rows) {
      const int64_t n = std::min(rows, h.size(0) - start);
      at::Tensor hc = h.narrow(0, start, n), gc = g.narrow(0, start, n).unsqueeze(1);
      at::Tensor z = at::linear(hc, w).to(lse.scalar_type());
      if (temperature != 1.0) z.div_(temperature);
      at::Tensor dz = z.sub_(lse.narrow(0, start, n).unsqueeze(1)).exp_().mul_(gc).neg_();  // -g p
      dz.scatter_add_(1, targets.narrow(0, start, n).unsqueeze(1), gc);                     // + g onehot
      if (temperature != 1.0) dz.div_(temperature);
      dz = dz.to(w.scalar_type());
      grad_h.narrow(0, start, n).copy_(dz.mm(w));
      grad_w.addmm_(dz.t(), hc);
    }
    return {grad_h, grad_w, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// Activation checkpointing of one decoder layer: the forward pass keeps only the layer's input;
// the backward pass runs the layer again with autograd on and differentiates that. Costs one
// more forward of the layer, saves every intermediate activation of it (attention projections,
// MLP, norms) between the forward and the backward pass.
struct LayerHolder : torch::CustomClassHolder {
  explicit LayerHolder(std::function<at::Tensor(const at::Tensor&)> fn) : fn(std::move(fn)) {}
  std::function<at::Tensor(const at::Tensor&)> fn;  // the layer, all but its input bound
};

class CheckpointedLayer : public torch::autograd::Function<CheckpointedLayer> {
 public:
  // `params`: every tensor `layer` reads that needs a gradient (its weights).
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, c10::intrusive_ptr<LayerHolder> layer,
                            const at::Tensor& x, at::TensorList params) {
    ctx->save_for_backward({x});
    ctx->saved_data["layer"] = c10::IValue::make_capsule(layer);
    ctx->saved_data["params"] = params.vec();
    return layer->fn(x);  // autograd is off inside forward
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto layer = c10::static_intrusive_pointer_cast<LayerHolder>(ctx->saved_data["layer"].toCapsule());
    std::vector<at::Tensor> params = ctx->saved_data["params"].toTensorVector();
    at::Tensor x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    at::Tensor out;
    {
      c10::AutoGradMode grad_mode(true);
      out = layer->fn(x);
    }
    std::vector<at::Tensor> inputs = {x};
    inputs.insert(inputs.end(), params.begin(), params.end());
    std::vector<at::Tensor> input_grads =
        torch::autograd::grad({out}, inputs, {grads[0]}, /*retain_graph=*/false, /*create_graph=*/false,
                              /*allow_unused=*/true);
    input_grads.insert(input_grads.begin(), at::Tensor());  // none for the layer itself
    return input_grads;
  }
};

}  // namespace

KVCache::KVCache(const ModelConfig& c, int64_t batch, int64_t capacity, at::ScalarType dtype, at::Device device) {
  auto options = at::TensorOptions().dtype(dtype).device(device);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    keys_.push_back(at::zeros({batch, c.num_key_value_heads, capacity, c.head_dim}, options));
    values_.push_back(at::zeros({batch, c.num_key_value_heads, capacity, c.head_dim}, options));
  }
  valid_ = at::zeros({batch, capacity}, options.dtype(at::kBool));
  num_tokens_ = at::zeros({batch}, options.dtype(at::kLong));
}

void KVCache::SelectRows(const at::Tensor& rows) {
  at::Tensor idx = rows.to(valid_.device(), at::kLong);
  for (auto& k : keys_) k = k.index_select(0, idx);
  for (auto& v : values_) v = v.index_select(0, idx);
  valid_ = valid_.index_select(0, idx);
  num_tokens_ = num_tokens_.index_select(0, idx);
}

Transformer::Transformer(ModelConfig config, at::ScalarType dtype, at::Device device)
    : config_(std::move(config)), dtype_(dtype), device_(device) {}

at::Tensor Transformer::AddParameter(std::string name, std::vector<int64_t> shape) {
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype_).device(device_));
  params_.push_back({std::move(name), t});
  return t;
}

absl::StatusOr<std::unique_ptr<Transformer>> Transformer::Create(const ModelConfig& c, at::ScalarType dtype,
                                                                 at::Device device) {
  if (dtype != at::kFloat && dtype != at::kBFloat16 && dtype != at::kHalf && dtype != at::kDouble) {
    return absl::InvalidArgumentError(
        absl::StrCat("model dtype must be float32, bfloat16 or float16, not ", std::string(c10::toString(dtype))));
  }
  std::unique_ptr<Transformer> m(new Transformer(c, dtype, device));
  const int64_t h = c.hidden_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  const int64_t ff = c.intermediate_size;
  m->embed_ = m->AddParameter("model.embed_tokens.weight", {c.vocab_size, h});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    std::string p = absl::StrCat("model.layers.", i, ".");
    Layer l;
    l.input_norm = m->AddParameter(p + "input_layernorm.weight", {h});
    l.q_w = m->AddParameter(p + "self_attn.q_proj.weight", {q, h});
    if (c.qkv_bias) l.q_b = m->AddParameter(p + "self_attn.q_proj.bias", {q});
    l.k_w = m->AddParameter(p + "self_attn.k_proj.weight", {kv, h});
    if (c.qkv_bias) l.k_b = m->AddParameter(p + "self_attn.k_proj.bias", {kv});
    l.v_w = m->AddParameter(p + "self_attn.v_proj.weight", {kv, h});
    if (c.qkv_bias) l.v_b = m->AddParameter(p + "self_attn.v_proj.bias", {kv});
    l.o_w = m->AddParameter(p + "self_attn.o_proj.weight", {h, q});
    if (c.o_bias) l.o_b = m->AddParameter(p + "self_attn.o_proj.bias", {h});
    l.post_norm = m->AddParameter(p + "post_attention_layernorm.weight", {h});
    l.gate_w = m->AddParameter(p + "mlp.gate_proj.weight", {ff, h});
    if (c.mlp_bias) l.gate_b = m->AddParameter(p + "mlp.gate_proj.bias", {ff});
    l.up_w = m->AddParameter(p + "mlp.up_proj.weight", {ff, h});
    if (c.mlp_bias) l.up_b = m->AddParameter(p + "mlp.up_proj.bias", {ff});
    l.down_w = m->AddParameter(p + "mlp.down_proj.weight", {h, ff});
    if (c.mlp_bias) l.down_b = m->AddParameter(p + "mlp.down_proj.bias", {h});
    m->layers_.push_back(std::move(l));
  }
  m->final_norm_ = m->AddParameter("model.norm.weight", {h});
  if (c.head == HeadKind::kScore) {
    m->score_ = m->AddParameter("score.weight", {1, h});
  } else if (!c.tie_word_embeddings) {
    m->lm_head_ = m->AddParameter("lm_head.weight", {c.vocab_size, h});
  }
  m->inv_freq_ = InverseFrequencies(c).to(device);
  return m;
}

const at::Tensor* Transformer::FindParameter(absl::string_view name) const {
  for (const NamedParameter& p : params_) {
    if (p.name == name) return &p.tensor;
  }
  return nullptr;
}

void Transformer::InitRandom(uint64_t seed) {
  c10::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (NamedParameter& p : params_) {
    at::Tensor value;
    const std::string& n = p.name;
    if (n.ends_with("norm.weight")) {
      value = at::ones(p.tensor.sizes(), at::kFloat);
    } else if (n.ends_with(".bias")) {
      value = at::zeros(p.tensor.sizes(), at::kFloat);
    } else {
      value = at::normal(0.0, config_.initializer_range, p.tensor.sizes(), gen, at::TensorOptions().dtype(at::kFloat));
    }
    p.tensor.copy_(value);
  }
}

KVCache Transformer::NewCache(int64_t batch, int64_t capacity) const {
  return KVCache(config_, batch, capacity, dtype_, device_);
}

absl::Status Transformer::ValidateTokens(const at::Tensor& input_ids, const at::Tensor& attention_mask) const {
  if (input_ids.dim() != 2 || input_ids.size(0) == 0 || input_ids.size(1) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("input_ids must be a non-empty [batch, seq] tensor, got shape ", c10::str(input_ids.sizes())));
  }
  if (input_ids.scalar_type() != at::kLong) return absl::InvalidArgumentError("input_ids must be int64");
  if (!attention_mask.sizes().equals(input_ids.sizes())) {
    return absl::InvalidArgumentError(absl::StrCat("attention_mask shape ", c10::str(attention_mask.sizes()),
                                                   " differs from input_ids shape ", c10::str(input_ids.sizes())));
  }
  int64_t lo = input_ids.min().item<int64_t>(), hi = input_ids.max().item<int64_t>();
  if (lo < 0 || hi >= config_.vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("token id ", lo < 0 ? lo : hi, " is outside the vocabulary [0, ", config_.vocab_size, ")"));
  }
  return absl::OkStatus();
}

at::Tensor Transformer::Attention(const Layer& l, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                  const at::Tensor& mask, int64_t layer_index, KVCache* cache) const {
  const int64_t B = x.size(0), T = x.size(1), hd = config_.head_dim;
  const int64_t nh = config_.num_attention_heads, nkv = config_.num_key_value_heads, g = nh / nkv;
  at::Tensor q = Linear(x, l.q_w, l.q_b).view({B, T, nh, hd}).transpose(1, 2);
  at::Tensor k = Linear(x, l.k_w, l.k_b).view({B, T, nkv, hd}).transpose(1, 2);
  at::Tensor v = Linear(x, l.v_w, l.v_b).view({B, T, nkv, hd}).transpose(1, 2);
  q = q * cos + RotateHalf(q) * sin;
  k = k * cos + RotateHalf(k) * sin;
  if (cache != nullptr) {
    const int64_t past = cache->length_;
    cache->keys_[layer_index].narrow(2, past, T).copy_(k);
    cache->values_[layer_index].narrow(2, past, T).copy_(v);
    k = cache->keys_[layer_index].narrow(2, 0, past + T);
    v = cache->values_[layer_index].narrow(2, 0, past + T);
  }
  // LibTorch's fused attention; enable_gqa shares each key head among its g query heads without
  // repeating it.
  at::Tensor out = at::scaled_dot_product_attention(q, k, v, mask, /*dropout_p=*/0.0, /*is_causal=*/false,
                                                    1.0 / std::sqrt(static_cast<double>(hd)), /*enable_gqa=*/g > 1);
  out = out.transpose(1, 2).reshape({B, T, nh * hd});
  return Linear(out, l.o_w, l.o_b);
}

at::Tensor Transformer::Forward(const at::Tensor& input_ids, const at::Tensor& attention_mask, KVCache* cache) const {
  const int64_t B = input_ids.size(0), T = input_ids.size(1);
  const int64_t past = cache != nullptr ? cache->length_ : 0;
  TORCH_CHECK(cache == nullptr || (cache->batch() == B && past + T <= cache->capacity()), "KV cache of batch ",
              cache ? cache->batch() : 0, " and room ", cache ? cache->capacity() - past : 0,
              " cannot take a batch of ", B, " x ", T);
  at::Tensor ids = input_ids.to(device_);
  at::Tensor mask = attention_mask.to(device_).to(at::kBool);

  // Position of each token = number of real tokens before it in its row.
  at::Tensor counts = mask.to(at::kLong).cumsum(1);
  at::Tensor positions = counts - 1;
  at::Tensor key_valid = mask;
  if (cache != nullptr) {
    positions = positions + cache->num_tokens_.unsqueeze(1);
    cache->valid_.narrow(1, past, T).copy_(mask);
    key_valid = cache->valid_.narrow(1, 0, past + T);
    cache->num_tokens_ += counts.select(1, T - 1);
  }
  positions = positions.clamp_min(0);

  // Query t sits in slot past + t; it sees real keys in slots up to its own.
  auto long_opts = at::TensorOptions().dtype(at::kLong).device(device_);
  at::Tensor q_slot = at::arange(past, past + T, long_opts).unsqueeze(1);
  at::Tensor k_slot = at::arange(0, past + T, long_opts).unsqueeze(0);
  at::Tensor allowed = k_slot <= q_slot;
  if (config_.sliding_window) allowed = allowed.logical_and(q_slot - k_slot < *config_.sliding_window);
  allowed = allowed.unsqueeze(0).logical_and(key_valid.unsqueeze(1)).unsqueeze(1);  // [B, 1, T, S]
  at::Tensor mask_add =
      at::zeros(allowed.sizes(), long_opts.dtype(dtype_)).masked_fill(allowed.logical_not(), MaskValue(dtype_));

  at::Tensor freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq_;  // [B, T, hd/2]
  at::Tensor angles = at::cat({freqs, freqs}, -1).unsqueeze(1);           // [B, 1, T, hd]
  at::Tensor cos = angles.cos().to(dtype_), sin = angles.sin().to(dtype_);

  at::Tensor x = at::embedding(embed_, ids);
  const bool checkpoint = activation_checkpointing_ && cache == nullptr && c10::GradMode::is_enabled();
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = layers_[i];
    auto layer = [this, &l, cos, sin, mask_add, i, cache](const at::Tensor& in) {
      at::Tensor out = in + Attention(l, RmsNorm(in, l.input_norm, config_.rms_norm_eps), cos, sin, mask_add,
                                      static_cast<int64_t>(i), cache);
      at::Tensor h = RmsNorm(out, l.post_norm, config_.rms_norm_eps);
      return out + Linear(at::silu(Linear(h, l.gate_w, l.gate_b)) * Linear(h, l.up_w, l.up_b), l.down_w, l.down_b);
    };
    if (checkpoint) {
      std::vector<at::Tensor> params;
      for (const at::Tensor* t : {&l.input_norm, &l.q_w, &l.q_b, &l.k_w, &l.k_b, &l.v_w, &l.v_b, &l.o_w, &l.o_b,
                                  &l.post_norm, &l.gate_w, &l.gate_b, &l.up_w, &l.up_b, &l.down_w, &l.down_b}) {
        if (t->defined() && t->requires_grad()) params.push_back(*t);
      }
      x = CheckpointedLayer::apply(c10::make_intrusive<LayerHolder>(layer), x, at::TensorList(params));
    } else {
      x = layer(x);
    }
  }
  if (cache != nullptr) cache->length_ += T;
  return RmsNorm(x, final_norm_, config_.rms_norm_eps);
}

const at::Tensor& Transformer::HeadWeight() const {
  TORCH_CHECK(config_.head == HeadKind::kLanguageModel, config_.ArchitectureName(), " has no LM head");
  return lm_head_.defined() ? lm_head_ : embed_;
}

at::Tensor Transformer::Logits(const at::Tensor& hidden) const {
  return at::linear(hidden, HeadWeight()).to(ComputeType(dtype_));
}

at::Tensor Transformer::Scores(const at::Tensor& hidden) const {
  TORCH_CHECK(config_.head == HeadKind::kScore, config_.ArchitectureName(), " has no score head");
  return at::linear(hidden, score_).squeeze(-1).to(ComputeType(dtype_));
}

at::Tensor Transformer::TokenLogProbs(const at::Tensor& hidden, const at::Tensor& targets, double temperature,
                                      int64_t chunk_tokens) const {
  const at::Tensor& w = HeadWeight();
  at::Tensor h = hidden.reshape({-1, hidden.size(-1)});
  at::Tensor t = targets.to(device_).reshape({-1}).contiguous();
  const int64_t rows = ChunkRows(config_.vocab_size, chunk_tokens);
  if (at::GradMode::is_enabled() && (h.requires_grad() || w.requires_grad())) {
    return LogProbsFunction::apply(h, w, t, temperature, rows).view(targets.sizes());
  }
  return ChunkedLogProbs(h, w, t, temperature, rows, ComputeType(dtype_)).first.view(targets.sizes());
}

at::Tensor LastTokenIndex(const at::Tensor& attention_mask) {
  at::Tensor mask = attention_mask.to(at::kLong);
  at::Tensor slots = at::arange(mask.size(1), mask.options()).unsqueeze(0);
  return (mask * (slots + 1)).argmax(1);  // +1 so that slot 0 of a real token beats a pad
}

absl::StatusOr<at::ScalarType> ParseScalarType(absl::string_view name) {
  if (name == "float32" || name == "fp32") return at::kFloat;
  if (name == "bfloat16" || name == "bf16") return at::kBFloat16;
  if (name == "float16" || name == "fp16") return at::kHalf;
  return absl::InvalidArgumentError(absl::StrCat("dtype '", name, "' is not one of float32, bfloat16, float16"));
}

absl::StatusOr<at::Device> ParseDevice(absl::string_view name) {
  if (name == "cpu") return at::Device(at::kCPU);
  if (name == "cuda" || absl::StartsWith(name, "cuda:")) {
    int64_t index = 0;
    if (name.size() > 5 && !absl::SimpleAtoi(name.substr(5), &index)) {
      return absl::InvalidArgumentError(absl::StrCat("device '", name, "': bad CUDA device index"));
    }
    if (!at::hasCUDA()) {
      return absl::FailedPreconditionError(
          absl::StrCat("device '", name, "': this build of LibTorch has no CUDA, or no GPU is visible"));
    }
    return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  return absl::InvalidArgumentError(absl::StrCat("device '", name, "' is not one of cpu, cuda, cuda:N"));
}

std::string ScalarTypeName(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "float32";
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    default: return std::string(c10::toString(type));
  }
}

}  // namespace rto
