// A trajectory moved from the policy's tokenizer to another model's, for a reward model or critic
// of another family: the prompt's messages are rendered with that model's chat template and the
// response's text is encoded with its tokenizer (as TRL does for a reward model with its own
// processing class), the response ending in that model's EOS when the policy's stopped.
//
// The messages are found by the policy's prompt tokens among the run's prompts, encoded exactly as
// the coordinator encodes them (same template, same truncation).
//
// Per-token values are mapped back by byte offsets in the response's text: the value of policy
// response token t is the other model's value after its last token that ends at or before the
// byte where token t starts (so a token of the other model that straddles that byte is not yet
// seen). Offsets come from decoding prefixes, so they are exact when each tokenizer decodes its own
// encoding back to the same text, and clamped to stay monotone otherwise (e.g. a normaliser).
// Torch-free; immutable after Create and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/tokenizer/chat_format.h"
#include "common/tokenizer/tokenizer.h"

namespace rto {

struct RetokenizedTrajectory {
  std::vector<int64_t> prompt, response;  // the other model's tokens
  // For each policy response token t: how many of `response` end at or before t's first byte.
  // The other model's state for t is then at position prompt.size() + state_of[t] - 1.
  std::vector<int64_t> state_of;
};

class Retokenizer {
 public:
  struct Side {
    std::shared_ptr<const Tokenizer> tokenizer;
    ChatFormat chat_template = ChatTemplate::kPlain;
    int64_t max_prompt_tokens = 0;  // 0: no limit
  };
  // `prompts`: every prompt a trajectory may come from (training and evaluation).
  static absl::StatusOr<std::unique_ptr<Retokenizer>> Create(Side policy, Side target,
                                                             const std::vector<std::vector<ChatMessage>>& prompts);

  // REQUIRES: `prompt` is the policy encoding of one of the prompts; else NotFound.
  absl::StatusOr<RetokenizedTrajectory> Map(absl::Span<const int64_t> prompt, absl::Span<const int64_t> response,
                                            bool stopped) const;

 private:
  Retokenizer() = default;
  Side policy_, target_;
  absl::flat_hash_map<std::vector<int64_t>, std::vector<int64_t>> target_prompt_;  // policy ids -> target ids
};

}  // namespace rto
