#include "common/train/sft_job.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "common/data/batching.h"
#include "common/data/dataset.h"
#include "common/model/checkpoint.h"
#include "common/tokenizer/tokenizer.h"
#include "common/train/examples.h"
#include "common/train/trainer.h"
#include "common/util/status_macros.h"

namespace rto {

absl::Status SftJobConfig::Read(ConfigReader& c) {
  for (absl::Status s :
       {c.Read("model", &model), c.Read("data", &data), c.Read("out", &out), c.Read("chat_template", &chat_template),
        c.Read("max_prompt_tokens", &max_prompt_tokens), c.Read("max_response_tokens", &max_response_tokens)}) {
    RTO_RETURN_IF_ERROR(s);
  }
  RTO_RETURN_IF_ERROR(train.Read(c));
  RTO_RETURN_IF_ERROR(RequireKeys({{"model", &model}, {"data", &data}, {"out", &out}}));
  return c.CheckNoUnknownKeys();
}

absl::Status RunSft(const SftJobConfig& cfg, const std::string& resolved_config, bool resume) {
  RTO_ASSIGN_OR_RETURN(auto model, LoadModel(cfg.model, {.dtype = at::kFloat}));
  RTO_ASSIGN_OR_RETURN(auto tokenizer, LoadTokenizer(cfg.model));
  TextEncoderOptions text{.max_prompt_tokens = cfg.max_prompt_tokens, .max_response_tokens = cfg.max_response_tokens};
  RTO_ASSIGN_OR_RETURN(text.chat_template, ChatFormat::Of(*tokenizer, cfg.chat_template));
  RTO_ASSIGN_OR_RETURN(std::vector<SftRow> rows, ReadSft(cfg.data, {}));
  TextEncoder encoder(*tokenizer, text);
  std::vector<Example> examples;
  for (const SftRow& row : rows) {
    RTO_ASSIGN_OR_RETURN(Example e, MakeExample(encoder, row.prompt, row.response));
    examples.push_back(std::move(e));
  }
  const int64_t pad_id = PadId(*tokenizer);

  RTO_ASSIGN_OR_RETURN(auto trainer, Trainer::Create(*model, cfg.train, static_cast<int64_t>(examples.size()), cfg.out,
                                                     resolved_config, resume, cfg.model));
  return trainer->Run(
      [&](const std::vector<std::vector<int64_t>>& micro) -> absl::StatusOr<Metrics> {
        std::vector<ExampleBatch> batches;
        int64_t tokens = 0;
        for (const auto& rows : micro) {
          std::vector<const Example*> picked;
          for (int64_t r : rows) picked.push_back(&examples[r]);
          batches.push_back(MakeExampleBatch(picked, pad_id));
          tokens += batches.back().response_tokens;
        }
        // The mean over every response token of the global batch, however it is split.
        double loss_sum = 0;
        for (const ExampleBatch& b : batches) {
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
