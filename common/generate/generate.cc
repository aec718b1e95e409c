#include "common/generate/generate.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace rto {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

double CounterUniform(uint64_t seed, uint64_t stream, uint64_t counter) {
  uint64_t h = SplitMix64(SplitMix64(SplitMix64(seed) ^ stream) ^ counter);
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

absl::Status ValidateSamplingParams(const SamplingParams& p, int64_t vocab_size) {
  if (!(p.temperature >= 0)) return absl::InvalidArgumentError(absl::StrCat("temperature ", p.temperature, " < 0"));
  if (p.top_k < 0) return absl::InvalidArgumentError(absl::StrCat("top_k ", p.top_k, " < 0"));
  if (!(p.top_p > 0 && p.top_p <= 1))
    return absl::InvalidArgumentError(absl::StrCat("top_p ", p.top_p, " outside (0, 1]"));
  if (p.max_new_tokens < 1)
    return absl::InvalidArgumentError(absl::StrCat("max_new_tokens ", p.max_new_tokens, " < 1"));
  for (int64_t id : p.stop_token_ids) {
    if (id < 0 || id >= vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("stop token ", id, " is outside the vocabulary [0, ", vocab_size, ")"));
    }
  }
  return absl::OkStatus();
}

at::Tensor SampleTokens(const at::Tensor& logits, const SamplingParams& p, const at::Tensor& uniforms) {
  if (p.temperature == 0) return logits.argmax(-1);
  at::Tensor scaled = logits / p.temperature;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  if (p.top_k > 0 && p.top_k < scaled.size(-1)) {
    at::Tensor kth = std::get<0>(scaled.topk(p.top_k, -1)).narrow(-1, p.top_k - 1, 1);
    scaled = scaled.masked_fill(scaled < kth, neg_inf);
  }
  at::Tensor probs = at::softmax(scaled, -1);
  if (p.top_p < 1.0) {
    auto [sorted, order] = probs.sort(-1, /*descending=*/true);
    // Drop a token when the mass before it already reaches top_p; the first always stays.
    at::Tensor mass_before = sorted.cumsum(-1) - sorted;
    at::Tensor drop_sorted = mass_before >= p.top_p;
    at::Tensor drop = at::zeros_like(drop_sorted).scatter(-1, order, drop_sorted);
    probs = probs.masked_fill(drop, 0.0);
  }
  // Inverse-CDF draw in float64 so that rounding cannot push u past the last bucket.
  at::Tensor cdf = probs.to(at::kDouble).cumsum(-1);
  at::Tensor target = uniforms.to(cdf.device()).unsqueeze(-1) * cdf.narrow(-1, cdf.size(-1) - 1, 1);
  at::Tensor idx = at::searchsorted(cdf, target, /*out_int32=*/false, /*right=*/true).squeeze(-1);
  idx = idx.clamp_max(cdf.size(-1) - 1);
  // A zero-probability bucket can only be hit at its edge; step to a token that has mass.
  at::Tensor picked_prob = probs.gather(-1, idx.unsqueeze(-1)).squeeze(-1);
  return at::where(picked_prob > 0, idx, probs.argmax(-1));
}

absl::StatusOr<std::vector<Generation>> Generate(const Transformer& model,
                                                 const std::vector<std::vector<int64_t>>& prompts,
                                                 const SamplingParams& params,
                                                 const std::vector<uint64_t>& sequence_seeds,
                                                 const std::function<void(size_t, const Generation&)>& on_finished) {
  const ModelConfig& config = model.config();
  if (config.head != HeadKind::kLanguageModel) {
    return absl::InvalidArgumentError(absl::StrCat(config.ArchitectureName(), " cannot generate: it has no LM head"));
  }
  if (auto s = ValidateSamplingParams(params, config.vocab_size); !s.ok()) return s;
  if (!sequence_seeds.empty() && sequence_seeds.size() != prompts.size()) {
    return absl::InvalidArgumentError("sequence_seeds must be empty or one per prompt");
  }
  const int64_t B = static_cast<int64_t>(prompts.size());
  std::vector<Generation> out(prompts.size());
  if (B == 0) return out;
  int64_t max_len = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].empty()) return absl::InvalidArgumentError(absl::StrCat("prompt ", i, " is empty"));
    for (int64_t id : prompts[i]) {
      if (id < 0 || id >= config.vocab_size) {
        return absl::InvalidArgumentError(
            absl::StrCat("prompt ", i, ": token id ", id, " is outside the vocabulary [0, ", config.vocab_size, ")"));
      }
    }
    max_len = std::max<int64_t>(max_len, prompts[i].size());
  }

  c10::NoGradGuard no_grad;
  // Left-pad to a common length so every row's next token lands in the same cache slot.
  at::Tensor ids = at::zeros({B, max_len}, at::kLong);
  at::Tensor mask = at::zeros({B, max_len}, at::kLong);
  for (int64_t b = 0; b < B; ++b) {
    const auto& p = prompts[b];
    int64_t offset = max_len - static_cast<int64_t>(p.size());
    std::copy(p.begin(), p.end(), ids[b].data_ptr<int64_t>() + offset);
    mask[b].narrow(0, offset, p.size()).fill_(1);
  }
  KVCache cache = model.NewCache(B, max_len + params.max_new_tokens);
  at::Tensor hidden = model.Forward(ids, mask, &cache);
  at::Tensor logits = model.Logits(hidden.select(1, max_len - 1));  // [B, vocab]

  std::vector<int64_t> active(B);  // row of the cache -> prompt index
  for (int64_t b = 0; b < B; ++b) active[b] = b;
  const double logprob_temperature = params.temperature > 0 ? params.temperature : 1.0;
  for (int64_t step = 0; step < params.max_new_tokens; ++step) {
    const int64_t rows = static_cast<int64_t>(active.size());
    at::Tensor uniforms = at::empty({rows}, at::kDouble);
    double* u = uniforms.data_ptr<double>();
    for (int64_t r = 0; r < rows; ++r) {
      uint64_t stream = sequence_seeds.empty() ? static_cast<uint64_t>(active[r]) : sequence_seeds[active[r]];
      u[r] = CounterUniform(params.seed, stream, static_cast<uint64_t>(step));
    }
    at::Tensor next = SampleTokens(logits, params, uniforms);
    at::Tensor logprobs = at::log_softmax(logits / logprob_temperature, -1).gather(-1, next.unsqueeze(-1)).squeeze(-1);
    at::Tensor next_cpu = next.to(at::kCPU).contiguous(), logprobs_cpu = logprobs.to(at::kCPU).contiguous();
    const int64_t* next_tokens = next_cpu.data_ptr<int64_t>();
    const float* next_logprobs = logprobs_cpu.data_ptr<float>();

    std::vector<int64_t> keep;
    for (int64_t r = 0; r < rows; ++r) {
      Generation& g = out[active[r]];
      int64_t token = next_tokens[r];
      g.tokens.push_back(token);
      g.logprobs.push_back(next_logprobs[r]);
      bool stopped =
          std::find(params.stop_token_ids.begin(), params.stop_token_ids.end(), token) != params.stop_token_ids.end();
      if (stopped) g.finish_reason = FinishReason::kStop;
      if (!stopped && step + 1 < params.max_new_tokens) {
        keep.push_back(r);
      } else if (on_finished) {
        on_finished(static_cast<size_t>(active[r]), g);
      }
    }
    if (keep.empty()) break;
    at::Tensor step_ids = next.index_select(0, at::tensor(keep, at::kLong).to(next.device())).unsqueeze(1);
    if (static_cast<int64_t>(keep.size()) < rows) {
      cache.SelectRows(at::tensor(keep, at::kLong));
      std::vector<int64_t> still;
      for (int64_t r : keep) still.push_back(active[r]);
      active = std::move(still);
    }
    at::Tensor step_mask = at::ones({static_cast<int64_t>(keep.size()), 1}, at::kLong);
    logits = model.Logits(model.Forward(step_ids, step_mask, &cache).select(1, 0));
  }
  return out;
}

}  // namespace rto
