#include "common/train/preference_jobs.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/model/checkpoint.h"
#include "common/tokenizer/tokenizer.h"
#include "common/train/examples.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace rto {
namespace {

// At most `limit` of `pairs` (0: all), a seeded sample in the sampled order.
std::vector<PairExample> NormalizationSample(const std::vector<PairExample>& pairs, int64_t limit, uint64_t seed) {
  const int64_t n = static_cast<int64_t>(pairs.size());
  if (limit == 0 || limit >= n) return pairs;
  std::vector<PairExample> out;
  for (int64_t i : DataOrder(n, seed ^ 0x4E0Bull).Next(limit)) out.push_back(pairs[i]);
  return out;
}

struct LoadedPairs {
  std::unique_ptr<Tokenizer> tokenizer;
  std::vector<PairExample> pairs;
  int64_t prompts_truncated = 0, responses_truncated = 0;
};

absl::StatusOr<LoadedPairs> LoadPairs(const PreferenceData& d) {
  LoadedPairs out;
  RTO_ASSIGN_OR_RETURN(out.tokenizer, LoadTokenizer(d.model));
  TextEncoderOptions text{.max_prompt_tokens = d.max_prompt_tokens, .max_response_tokens = d.max_response_tokens};
  RTO_ASSIGN_OR_RETURN(text.chat_template, ChatFormat::Of(*out.tokenizer, d.chat_template));
  RTO_ASSIGN_OR_RETURN(std::vector<PreferenceRow> rows, ReadPreferences(d.data, {}));
  TextEncoder encoder(*out.tokenizer, text);
  RTO_ASSIGN_OR_RETURN(out.pairs, MakePairExamples(encoder, rows));
  out.prompts_truncated = encoder.prompts_truncated();
  out.responses_truncated = encoder.responses_truncated();
  return out;
}

// Chosen sequences first, then the rejected ones, in one batch.
ExampleBatch PairBatch(const std::vector<PairExample>& pairs, const std::vector<int64_t>& rows, int64_t pad_id) {
  std::vector<const Example*> picked;
  for (int64_t r : rows) picked.push_back(&pairs[r].chosen);
  for (int64_t r : rows) picked.push_back(&pairs[r].rejected);
  return MakeExampleBatch(picked, pad_id);
}

// Reward-model scores at each sequence's last real token.
at::Tensor LastTokenScores(const Transformer& model, const ExampleBatch& b) {
  at::Tensor scores = model.Scores(model.Forward(b.ids, b.mask));
  return scores.gather(1, LastTokenIndex(b.mask).unsqueeze(1)).squeeze(1);
}

// Sum (or per-token mean) of the response tokens' log-probs of each sequence.
at::Tensor ResponseLogProbs(const Transformer& model, const ExampleBatch& b, bool mean) {
  at::Tensor hidden = model.Forward(b.ids, b.mask);
  at::Tensor lp = model.TokenLogProbs(hidden.narrow(1, 0, b.ids.size(1) - 1), b.targets);
  at::Tensor sum = SequenceLogProb(lp, b.loss_mask);
  return mean ? sum / b.loss_mask.sum(-1).clamp_min(1).to(sum.scalar_type()) : sum;
}

}  // namespace

absl::Status PreferenceData::Read(ConfigReader& c) {
  for (absl::Status s :
       {c.Read("model", &model), c.Read("data", &data), c.Read("out", &out), c.Read("chat_template", &chat_template),
        c.Read("max_prompt_tokens", &max_prompt_tokens), c.Read("max_response_tokens", &max_response_tokens)}) {
    RTO_RETURN_IF_ERROR(s);
  }
  return RequireKeys({{"model", &model}, {"data", &data}, {"out", &out}});
}

absl::Status RmJobConfig::Read(ConfigReader& c) {
  RTO_RETURN_IF_ERROR(data.Read(c));
  RTO_RETURN_IF_ERROR(c.Read("eval_fraction", &eval_fraction));
  if (!(eval_fraction >= 0 && eval_fraction < 1))
    return absl::InvalidArgumentError("'eval_fraction' must be in [0, 1)");
  RTO_RETURN_IF_ERROR(c.Read("normalization_pairs", &normalization_pairs));
  if (normalization_pairs < 0) return absl::InvalidArgumentError("'normalization_pairs' must be >= 0 (0: all)");
  RTO_RETURN_IF_ERROR(train.Read(c));
  return c.CheckNoUnknownKeys();
}

absl::Status DpoJobConfig::Read(ConfigReader& c) {
  RTO_RETURN_IF_ERROR(data.Read(c));
  for (absl::Status s :
       {c.Read("reference", &reference), c.Read("dpo.loss", &loss), c.Read("dpo.beta", &beta),
        c.Read("dpo.label_smoothing", &label_smoothing), c.Read("dpo.reference_mode", &reference_mode)}) {
    RTO_RETURN_IF_ERROR(s);
  }
  RTO_RETURN_IF_ERROR(ParseDpoLoss(loss).status());
  if (!(beta > 0)) return absl::InvalidArgumentError("'dpo.beta' must be > 0");
  if (!(label_smoothing >= 0 && label_smoothing < 0.5)) {
    return absl::InvalidArgumentError("'dpo.label_smoothing' must be in [0, 0.5)");
  }
  if (reference_mode != "precompute" && reference_mode != "online") {
    return absl::InvalidArgumentError("'dpo.reference_mode' must be precompute or online");
  }
  RTO_RETURN_IF_ERROR(train.Read(c));
  return c.CheckNoUnknownKeys();
}

absl::Status RunRm(const RmJobConfig& cfg, const std::string& resolved_config, bool resume) {
  RTO_ASSIGN_OR_RETURN(LoadedPairs data, LoadPairs(cfg.data));
  // A causal LM gets a fresh score head; a reward model keeps its own.
  RTO_ASSIGN_OR_RETURN(auto model,
                       LoadModel(cfg.data.model, {.dtype = at::kFloat,
                                                  .head = HeadKind::kScore,
                                                  .init_missing_score_seed = static_cast<uint64_t>(cfg.train.seed)}));
  // A seeded split: the held-out pairs never reach the optimiser.
  const int64_t n = static_cast<int64_t>(data.pairs.size());
  const int64_t held_out = static_cast<int64_t>(std::floor(cfg.eval_fraction * static_cast<double>(n)));
  if (n - held_out < 1) return absl::InvalidArgumentError(absl::StrCat(cfg.data.data, ": too few pairs to train on"));
  std::vector<int64_t> order = DataOrder(n, static_cast<uint64_t>(cfg.train.seed) ^ 0x5EEDull).Next(n);
  std::vector<PairExample> train, eval;
  for (int64_t i = 0; i < n; ++i) (i < held_out ? eval : train).push_back(data.pairs[order[i]]);
  const int64_t pad_id = PadId(*data.tokenizer);
  const int64_t global = cfg.train.micro_batch * cfg.train.grad_accum;

  RTO_ASSIGN_OR_RETURN(auto trainer, Trainer::Create(*model, cfg.train, static_cast<int64_t>(train.size()),
                                                     cfg.data.out, resolved_config, resume, cfg.data.model));
  auto step = [&](const std::vector<std::vector<int64_t>>& micro) -> absl::StatusOr<Metrics> {
    double loss_sum = 0, correct = 0, margin = 0, tokens = 0;
    for (const auto& rows : micro) {
      ExampleBatch b = PairBatch(train, rows, pad_id);
      at::Tensor scores = LastTokenScores(*model, b);
      const int64_t k = static_cast<int64_t>(rows.size());
      at::Tensor chosen = scores.narrow(0, 0, k), rejected = scores.narrow(0, k, k);
      at::Tensor loss = BradleyTerryLoss(chosen, rejected) * (static_cast<double>(k) / static_cast<double>(global));
      loss.backward();
      loss_sum += loss.item<double>();
      correct += (chosen > rejected).sum().item<double>();
      margin += (chosen - rejected).sum().item<double>();
      tokens += b.mask.sum().item<double>();
    }
    return Metrics{{"loss", loss_sum}, {"accuracy", correct / global}, {"margin", margin / global}, {"tokens", tokens}};
  };

  // Held-out accuracy and the score statistics, from the final weights.
  auto evaluate = [&](const std::vector<PairExample>& pairs, std::vector<double>* all_scores) {
    c10::NoGradGuard no_grad;
    double correct = 0, margin = 0;
    for (size_t begin = 0; begin < pairs.size(); begin += 32) {
      std::vector<int64_t> rows;
      for (size_t i = begin; i < std::min(pairs.size(), begin + 32); ++i) rows.push_back(static_cast<int64_t>(i));
      at::Tensor scores = LastTokenScores(*model, PairBatch(pairs, rows, pad_id));
      const int64_t k = static_cast<int64_t>(rows.size());
      at::Tensor chosen = scores.narrow(0, 0, k), rejected = scores.narrow(0, k, k);
      correct += (chosen > rejected).sum().item<double>();
      margin += (chosen - rejected).sum().item<double>();
      if (all_scores != nullptr) {
        at::Tensor s = scores.to(at::kDouble).contiguous();
        all_scores->insert(all_scores->end(), s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
      }
    }
    const double count = std::max<double>(1, static_cast<double>(pairs.size()));
    return std::pair<double, double>{correct / count, margin / count};
  };
  RTO_RETURN_IF_ERROR(trainer->Run(step, {{"pairs_train", static_cast<double>(train.size())},
                                          {"pairs_eval", static_cast<double>(eval.size())},
                                          {"prompts_truncated", static_cast<double>(data.prompts_truncated)},
                                          {"responses_truncated", static_cast<double>(data.responses_truncated)}}));
  std::vector<double> scores;
  evaluate(NormalizationSample(train, cfg.normalization_pairs, static_cast<uint64_t>(cfg.train.seed)), &scores);
  double mean = 0, var = 0;
  for (double s : scores) mean += s;
  mean /= static_cast<double>(scores.size());
  for (double s : scores) var += (s - mean) * (s - mean);
  const double std_dev = std::sqrt(var / static_cast<double>(scores.size()));
  nlohmann::json norm = {{"mean", mean}, {"std", std_dev}};
  RTO_RETURN_IF_ERROR(WriteFileAtomically(cfg.data.out + "/final/reward_normalization.json", norm.dump(2) + "\n"));
  auto [accuracy, margin] = evaluate(eval, nullptr);
  nlohmann::json result = {{"eval_accuracy", accuracy}, {"eval_margin", margin},
                           {"eval_pairs", eval.size()}, {"normalization_scores", scores.size()},
                           {"score_mean", mean},        {"score_std", std_dev}};
  std::cerr << "reward model: held-out accuracy " << accuracy << " on " << eval.size() << " pairs\n";
  return WriteFileAtomically(cfg.data.out + "/eval.json", result.dump(2) + "\n");
}

absl::Status RunDpo(const DpoJobConfig& cfg, const std::string& resolved_config, bool resume) {
  RTO_ASSIGN_OR_RETURN(LoadedPairs data, LoadPairs(cfg.data));
  RTO_ASSIGN_OR_RETURN(auto policy, LoadModel(cfg.data.model, {.dtype = at::kFloat}));
  RTO_ASSIGN_OR_RETURN(auto reference,
                       LoadModel(cfg.reference.empty() ? cfg.data.model : cfg.reference, {.dtype = at::kFloat}));
  if (reference->config().vocab_size != policy->config().vocab_size) {
    return absl::InvalidArgumentError("the reference and the policy must share a vocabulary");
  }
  DpoOptions options{.loss = *ParseDpoLoss(cfg.loss), .beta = cfg.beta, .label_smoothing = cfg.label_smoothing};
  const bool mean_logps = options.loss == DpoOptions::Loss::kIpo;
  const int64_t pad_id = PadId(*data.tokenizer);
  const int64_t n = static_cast<int64_t>(data.pairs.size());
  const int64_t global = cfg.train.micro_batch * cfg.train.grad_accum;

  // Reference log-probs, [n] each for chosen and rejected: up front, or per batch.
  std::vector<double> ref_chosen(n), ref_rejected(n);
  auto reference_logps = [&](const std::vector<int64_t>& rows) {
    c10::NoGradGuard no_grad;
    at::Tensor lp = ResponseLogProbs(*reference, PairBatch(data.pairs, rows, pad_id), mean_logps).to(at::kDouble);
    const int64_t k = static_cast<int64_t>(rows.size());
    for (int64_t i = 0; i < k; ++i) {
      ref_chosen[rows[i]] = lp[i].item<double>();
      ref_rejected[rows[i]] = lp[k + i].item<double>();
    }
  };
  if (cfg.reference_mode == "precompute") {
    for (int64_t begin = 0; begin < n; begin += 32) {
      std::vector<int64_t> rows;
      for (int64_t i = begin; i < std::min(n, begin + 32); ++i) rows.push_back(i);
      reference_logps(rows);
    }
    reference.reset();  // no longer needed: free its memory
  }

  RTO_ASSIGN_OR_RETURN(auto trainer,
                       Trainer::Create(*policy, cfg.train, n, cfg.data.out, resolved_config, resume, cfg.data.model));
  auto step = [&](const std::vector<std::vector<int64_t>>& micro) -> absl::StatusOr<Metrics> {
    double loss_sum = 0, chosen_reward = 0, rejected_reward = 0, correct = 0, tokens = 0;
    for (const auto& rows : micro) {
      if (reference) reference_logps(rows);
      ExampleBatch b = PairBatch(data.pairs, rows, pad_id);
      at::Tensor lp = ResponseLogProbs(*policy, b, mean_logps);
      const int64_t k = static_cast<int64_t>(rows.size());
      std::vector<double> rc, rr;
      for (int64_t r : rows) {
        rc.push_back(ref_chosen[r]);
        rr.push_back(ref_rejected[r]);
      }
      DpoOutput out = DpoLoss(lp.narrow(0, 0, k), lp.narrow(0, k, k), at::tensor(rc, at::kDouble).to(lp.scalar_type()),
                              at::tensor(rr, at::kDouble).to(lp.scalar_type()), options);
      at::Tensor loss = out.loss * (static_cast<double>(k) / static_cast<double>(global));
      loss.backward();
      loss_sum += loss.item<double>();
      chosen_reward += out.chosen_rewards.sum().item<double>();
      rejected_reward += out.rejected_rewards.sum().item<double>();
      correct += (out.chosen_rewards > out.rejected_rewards).sum().item<double>();
      tokens += static_cast<double>(b.response_tokens);
    }
    return Metrics{{"loss", loss_sum},
                   {"reward_chosen", chosen_reward / global},
                   {"reward_rejected", rejected_reward / global},
                   {"reward_margin", (chosen_reward - rejected_reward) / global},
                   {"reward_accuracy", correct / global},
                   {"tokens", tokens}};
  };
  return trainer->Run(step, {{"pairs", static_cast<double>(n)},
                             {"prompts_truncated", static_cast<double>(data.prompts_truncated)},
                             {"responses_truncated", static_cast<double>(data.responses_truncated)}});
}

}  // namespace rto
