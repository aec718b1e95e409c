// A reward model or critic with a tokenizer of its own: trajectories move from a byte-level BPE
// policy (Llama-3 layout) to a SentencePiece model (Llama-2 layout) through text.
#include "common/data/retokenize.h"

#include <random>

#include "common/data/batching.h"
#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;

std::unique_ptr<Tokenizer> Load(const std::string& dir) {
  auto tok = LoadTokenizer(testing::SourceDir() + "/tests/fixtures/" + dir);
  EXPECT_THAT(tok, IsOk());
  return std::move(*tok);
}

const std::vector<std::vector<ChatMessage>> kPrompts = {
    {{"user", "Write a short poem about the sea."}},
    {{"system", "Be brief."}, {"user", "Why is the sky blue? Explain like I'm five."}},
};

const std::vector<std::string> kResponses = {
    "The sea is wide,  and deep and blue;\nit sings to me, and so do you.",
    "Sunlight bounces off tiny bits of air -- blue bounces the most! 42 times, naïve café ☀️.",
    "x",
};

struct Fixture {
  std::shared_ptr<const Tokenizer> policy = Load("tokenizers/llama3-style");
  std::shared_ptr<const Tokenizer> target = Load("sentencepiece/llama2-style");
  Retokenizer::Side policy_side{policy, ChatTemplate::kLlama3, 0};
  Retokenizer::Side target_side{target, ChatTemplate::kMistral, 0};
};

std::vector<int64_t> PolicyPrompt(const Fixture& f, const std::vector<ChatMessage>& messages) {
  TextEncoder enc(*f.policy, {.chat_template = ChatTemplate::kLlama3});
  return *enc.Prompt(messages);
}

TEST(RetokenizerTest, TheOtherModelSeesItsOwnTemplateAndItsOwnEncodingOfTheText) {
  Fixture f;
  auto r = Retokenizer::Create(f.policy_side, f.target_side, kPrompts);
  ASSERT_THAT(r, IsOk());
  TextEncoder policy_enc(*f.policy, {.chat_template = ChatTemplate::kLlama3});
  TextEncoder target_enc(*f.target, {.chat_template = ChatTemplate::kMistral});
  for (const auto& messages : kPrompts) {
    for (const std::string& text : kResponses) {
      std::vector<int64_t> response = policy_enc.Response(text);  // ends with the policy's EOS
      auto mapped = (*r)->Map(*policy_enc.Prompt(messages), response, /*stopped=*/true);
      ASSERT_THAT(mapped, IsOk());
      EXPECT_EQ(mapped->prompt, *target_enc.Prompt(messages));
      EXPECT_EQ(mapped->response, target_enc.Response(text)) << text;  // the text, then the target's EOS
      EXPECT_NE(mapped->prompt, *policy_enc.Prompt(messages));         // two tokenizers indeed
      // Not stopped: no EOS of the other model either.
      response.pop_back();
      auto cut = (*r)->Map(*policy_enc.Prompt(messages), response, /*stopped=*/false);
      ASSERT_THAT(cut, IsOk());
      EXPECT_EQ(cut->response.size() + 1, mapped->response.size());
    }
  }
}

TEST(RetokenizerTest, EachPolicyTokenGetsTheStateBeforeItsFirstByte) {
  Fixture f;
  auto r = Retokenizer::Create(f.policy_side, f.target_side, kPrompts);
  ASSERT_THAT(r, IsOk());
  for (const std::string& text : kResponses) {
    const std::vector<int64_t> response = f.policy->Encode(text, {.add_special_tokens = false});
    auto mapped = (*r)->Map(PolicyPrompt(f, kPrompts[0]), response, /*stopped=*/false);
    ASSERT_THAT(mapped, IsOk());
    ASSERT_EQ(mapped->state_of.size(), response.size());
    EXPECT_EQ(mapped->state_of[0], 0);  // the first token is predicted from the prompt alone
    for (size_t t = 0; t < response.size(); ++t) {
      const size_t start = f.policy->DecodeBytes(absl::MakeSpan(response).subspan(0, t)).size();
      const int64_t k = mapped->state_of[t];
      // The other model's first k tokens lie before the byte where policy token t starts...
      EXPECT_LE(f.target->DecodeBytes(absl::MakeSpan(mapped->response).subspan(0, k)).size(), start)
          << text << " t=" << t;
      // ...and its next token does not.
      if (k < static_cast<int64_t>(mapped->response.size())) {
        EXPECT_GT(f.target->DecodeBytes(absl::MakeSpan(mapped->response).subspan(0, k + 1)).size(), start)
            << text << " t=" << t;
      }
      if (t > 0) EXPECT_GE(mapped->state_of[t], mapped->state_of[t - 1]);
    }
  }
}

TEST(RetokenizerTest, WithTheSameTokenizerItIsTheIdentity) {
  Fixture f;
  auto r = Retokenizer::Create(f.policy_side, f.policy_side, kPrompts);
  ASSERT_THAT(r, IsOk());
  for (const std::string& text : kResponses) {
    std::vector<int64_t> response = f.policy->Encode(text, {.add_special_tokens = false});
    response.push_back(*f.policy->special_tokens().eos_id);
    auto mapped = (*r)->Map(PolicyPrompt(f, kPrompts[1]), response, /*stopped=*/true);
    ASSERT_THAT(mapped, IsOk());
    EXPECT_EQ(mapped->prompt, PolicyPrompt(f, kPrompts[1]));
    EXPECT_EQ(mapped->response, response);
    for (size_t t = 0; t < response.size(); ++t) EXPECT_EQ(mapped->state_of[t], static_cast<int64_t>(t)) << text;
  }
}

TEST(RetokenizerTest, APromptThatIsNoneOfTheRunsIsNotFound) {
  Fixture f;
  auto r = Retokenizer::Create(f.policy_side, f.target_side, kPrompts);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT((*r)->Map({1, 2, 3}, {4, 5}, true), StatusIs(absl::StatusCode::kNotFound, "none of the run's prompts"));
}

}  // namespace
}  // namespace rto
