#include "common/train/examples.h"

#include <ATen/ATen.h>

#include "common/util/status_macros.h"

namespace rto {

ExampleBatch MakeExampleBatch(const std::vector<const Example*>& examples, int64_t pad_id) {
  std::vector<std::vector<int64_t>> seqs;
  for (const Example* e : examples) seqs.push_back(e->ids);
  PaddedBatch p = Pad(seqs, pad_id, PadSide::kRight);
  ExampleBatch b;
  b.ids = at::tensor(p.ids, at::kLong).view({p.rows, p.cols});
  b.mask = at::tensor(p.mask, at::kLong).view({p.rows, p.cols});
  b.targets = b.ids.narrow(1, 1, p.cols - 1);
  std::vector<int64_t> loss(p.rows * (p.cols - 1), 0);
  for (int64_t i = 0; i < p.rows; ++i) {
    const Example& e = *examples[i];
    for (int64_t t = std::max<int64_t>(1, e.response_start); t < static_cast<int64_t>(e.ids.size()); ++t) {
      loss[i * (p.cols - 1) + t - 1] = 1;
      ++b.response_tokens;
    }
  }
  b.loss_mask = at::tensor(loss, at::kLong).view({p.rows, p.cols - 1});
  return b;
}

absl::StatusOr<Example> MakeExample(TextEncoder& encoder, const std::vector<ChatMessage>& prompt,
                                    const std::string& response) {
  RTO_ASSIGN_OR_RETURN(std::vector<int64_t> ids, encoder.Prompt(prompt));
  Example e{ids, static_cast<int64_t>(ids.size())};
  std::vector<int64_t> r = encoder.Response(response);
  e.ids.insert(e.ids.end(), r.begin(), r.end());
  return e;
}

absl::StatusOr<std::vector<PairExample>> MakePairExamples(TextEncoder& encoder,
                                                          const std::vector<PreferenceRow>& rows) {
  std::vector<PairExample> out;
  for (const PreferenceRow& row : rows) {
    PairExample pair;
    RTO_ASSIGN_OR_RETURN(pair.chosen, MakeExample(encoder, row.prompt, row.chosen));
    RTO_ASSIGN_OR_RETURN(pair.rejected, MakeExample(encoder, row.prompt, row.rejected));
    out.push_back(std::move(pair));
  }
  return out;
}

int64_t PadId(const Tokenizer& tokenizer) {
  const SpecialTokens& s = tokenizer.special_tokens();
  return s.pad_id.value_or(s.eos_id.value_or(0));
}

}  // namespace rto
