#include "common/data/retokenize.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/data/batching.h"
#include "common/tokenizer/unicode.h"

namespace rto {

absl::StatusOr<std::unique_ptr<Retokenizer>> Retokenizer::Create(Side policy, Side target,
                                                                 const std::vector<std::vector<ChatMessage>>& prompts) {
  std::unique_ptr<Retokenizer> r(new Retokenizer());
  r->policy_ = std::move(policy);
  r->target_ = std::move(target);
  const Side& p = r->policy_;
  const Side& t = r->target_;
  TextEncoder from(*p.tokenizer, {.chat_template = p.chat_template, .max_prompt_tokens = p.max_prompt_tokens});
  TextEncoder to(*t.tokenizer, {.chat_template = t.chat_template, .max_prompt_tokens = t.max_prompt_tokens});
  for (size_t i = 0; i < prompts.size(); ++i) {
    absl::StatusOr<std::vector<int64_t>> policy_ids = from.Prompt(prompts[i]);
    absl::StatusOr<std::vector<int64_t>> target_ids = to.Prompt(prompts[i]);
    if (!policy_ids.ok() || !target_ids.ok()) {
      const absl::Status& bad = policy_ids.ok() ? target_ids.status() : policy_ids.status();
      return absl::InvalidArgumentError(absl::StrCat("prompt ", i, ": ", bad.message()));
    }
    r->target_prompt_.try_emplace(std::move(*policy_ids), std::move(*target_ids));
  }
  return r;
}

namespace {

// Byte offset where each token starts, from decoding prefixes to bytes (a prefix may end inside a
// character); clamped so that the offsets never decrease and never pass the whole text.
std::vector<size_t> StartBytes(const Tokenizer& tokenizer, absl::Span<const int64_t> ids, size_t text_size) {
  std::vector<size_t> starts(ids.size() + 1, 0);
  for (size_t t = 1; t <= ids.size(); ++t) {
    const size_t n = t == ids.size() ? text_size : tokenizer.DecodeBytes(ids.subspan(0, t), true).size();
    starts[t] = std::clamp(n, starts[t - 1], text_size);
  }
  return starts;
}

}  // namespace

absl::StatusOr<RetokenizedTrajectory> Retokenizer::Map(absl::Span<const int64_t> prompt,
                                                       absl::Span<const int64_t> response, bool stopped) const {
  auto it = target_prompt_.find(std::vector<int64_t>(prompt.begin(), prompt.end()));
  if (it == target_prompt_.end()) {
    return absl::NotFoundError(absl::StrCat("a trajectory's prompt (", prompt.size(),
                                            " tokens) is none of the run's prompts, so its messages are unknown"));
  }
  RetokenizedTrajectory out;
  out.prompt = it->second;
  const std::string text =
      unicode::ToValidUtf8Lossy(policy_.tokenizer->DecodeBytes(response, /*skip_special_tokens=*/true));
  out.response = target_.tokenizer->Encode(text, {.add_special_tokens = false, .parse_special = false});
  const std::vector<size_t> policy_starts = StartBytes(*policy_.tokenizer, response, text.size());
  const std::vector<size_t> target_ends = StartBytes(*target_.tokenizer, out.response, text.size());  // [k+1]: end of k
  out.state_of.resize(response.size());
  size_t seen = 0;  // target tokens ending at or before the current start
  for (size_t t = 0; t < response.size(); ++t) {
    while (seen < out.response.size() && target_ends[seen + 1] <= policy_starts[t]) ++seen;
    out.state_of[t] = static_cast<int64_t>(seen);
  }
  const std::optional<int64_t> eos = target_.tokenizer->special_tokens().eos_id;
  if (stopped && eos) out.response.push_back(*eos);
  if (out.response.empty() && eos) out.response.push_back(*eos);  // an empty text still ends somewhere
  return out;
}

}  // namespace rto
