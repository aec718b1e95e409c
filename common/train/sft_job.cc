#include "common/train/sft_job.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "common/data/batching.h"
#include "common/data/dataset.h"
#include "common/model/checkpoint.h"
#include "common/tokenizer/tokenizer.h"
#include "common/train/trainer.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

// One SFT example: prompt then response tokens, and where the response starts.
struct Example {
  std::vector<int64_t> ids;
  int64_t response_start;
};

// A right-padded batch with next-token targets and the mask of the response targets.
struct Batch {
  at::Tensor ids, mask, targets, loss_mask;
  int64_t response_tokens = 0;
};

Batch MakeBatch(const std::vector<Example>& examples, const std::vector<int64_t>& rows, int64_t pad_id) {
  std::vector<std::vector<int64_t>> seqs;
  for (int64_t r : rows) seqs.push_back(examples[r].ids);
  PaddedBatch p = Pad(seqs, pad_id, PadSide::kRight);
  Batch b;
  b.ids = at::tensor(p.ids, at::kLong).view({p.rows, p.cols});
  b.mask = at::tensor(p.mask, at::kLong).view({p.rows, p.cols});
  b.targets = b.ids.narrow(1, 1, p.cols - 1);
  std::vector<int64_t> loss(p.rows * (p.cols - 1), 0);
  for (int64_t i = 0; i < p.rows; ++i) {
    const Example& e = examples[rows[i]];
    for (int64_t t = e.response_start; t < static_cast<int64_t>(e.ids.size()); ++t) {
      loss[i * (p.cols - 1) + t - 1] = 1;  // position t - 1 predicts token t
      ++b.response_tokens;
    }
  }
  b.loss_mask = at::tensor(loss, at::kLong).view({p.rows, p.cols - 1});
  return b;
}

}  // namespace

absl::Status SftJobConfig::Read(ConfigReader& c) {
  for (absl::Status s :
       {c.Read("model", &model), c.Read("data", &data), c.Read("out", &out), c.Read("chat_template", &chat_template),
        c.Read("max_prompt_tokens", &max_prompt_tokens), c.Read("max_response_tokens", &max_response_tokens)}) {
    RTO_RETURN_IF_ERROR(s);
  }
  RTO_RETURN_IF_ERROR(train.Read(c));
  for (const auto& [key, value] : {std::pair{"model", &model}, std::pair{"data", &data}, std::pair{"out", &out}}) {
    if (value->empty()) return absl::InvalidArgumentError(absl::StrCat("config key '", key, "' is required"));
  }
  return c.CheckNoUnknownKeys();
}

absl::Status RunSft(const SftJobConfig& cfg, const std::string& resolved_config, bool resume) {
  RTO_ASSIGN_OR_RETURN(auto model, LoadModel(cfg.model, {.dtype = at::kFloat}));
  RTO_ASSIGN_OR_RETURN(auto tokenizer, LoadTokenizer(cfg.model));
  TextEncoderOptions text{.max_prompt_tokens = cfg.max_prompt_tokens, .max_response_tokens = cfg.max_response_tokens};
  if (cfg.chat_template.empty()) {
    RTO_ASSIGN_OR_RETURN(text.chat_template, DetectChatTemplate(tokenizer->chat_template()));
  } else {
    RTO_ASSIGN_OR_RETURN(text.chat_template, ParseChatTemplateName(cfg.chat_template));
  }
  RTO_ASSIGN_OR_RETURN(std::vector<SftRow> rows, ReadSft(cfg.data, {}));
  TextEncoder encoder(*tokenizer, text);
  std::vector<Example> examples;
  for (const SftRow& row : rows) {
    RTO_ASSIGN_OR_RETURN(std::vector<int64_t> prompt, encoder.Prompt(row.prompt));
    std::vector<int64_t> response = encoder.Response(row.response);
    Example e{prompt, static_cast<int64_t>(prompt.size())};
    e.ids.insert(e.ids.end(), response.begin(), response.end());
    examples.push_back(std::move(e));
  }
  const SpecialTokens& special = tokenizer->special_tokens();
  const int64_t pad_id = special.pad_id.value_or(special.eos_id.value_or(0));

  RTO_ASSIGN_OR_RETURN(auto trainer, Trainer::Create(*model, cfg.train, static_cast<int64_t>(examples.size()), cfg.out,
                                                     resolved_config, resume, cfg.model));
  return trainer->Run(
      [&](const std::vector<std::vector<int64_t>>& micro) -> absl::StatusOr<Metrics> {
        std::vector<Batch> batches;
        int64_t tokens = 0;
        for (const auto& rows : micro) {
          batches.push_back(MakeBatch(examples, rows, pad_id));
          tokens += batches.back().response_tokens;
        }
        // The mean over every response token of the global batch, however it is split.
        double loss_sum = 0;
        for (const Batch& b : batches) {
          at::Tensor hidden = model->Forward(b.ids, b.mask);
          at::Tensor lp = model->TokenLogProbs(hidden.narrow(1, 0, b.ids.size(1) - 1), b.targets);
          at::Tensor loss =
              -(lp * b.loss_mask.to(lp.scalar_type())).sum() / static_cast<double>(std::max<int64_t>(1, tokens));
          loss.backward();
          loss_sum += loss.item<double>();
        }
        return Metrics{{"loss", loss_sum}, {"tokens", static_cast<double>(tokens)}};
      },
      {{"rows", static_cast<double>(examples.size())},
       {"prompts_truncated", static_cast<double>(encoder.prompts_truncated())},
       {"responses_truncated", static_cast<double>(encoder.responses_truncated())}});
}

}  // namespace rto
