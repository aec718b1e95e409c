#include "common/data/batching.h"

#include <set>

#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;

std::unique_ptr<Tokenizer> Llama3Style() {
  auto tok = LoadTokenizer(testing::SourceDir() + "/tests/fixtures/tokenizers/llama3-style");
  EXPECT_THAT(tok, IsOk());
  return std::move(*tok);
}

TEST(TextEncoderTest, PromptsGoThroughTheChatTemplateAndResponsesEndWithEos) {
  auto tok = Llama3Style();
  TextEncoder enc(*tok, {.chat_template = ChatTemplate::kLlama3});
  auto ids = enc.Prompt({{"user", "Hello there"}});
  ASSERT_THAT(ids, IsOk());
  EXPECT_EQ(tok->Decode(*ids),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello there<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(ids->front(), *tok->special_tokens().bos_id);
  std::vector<int64_t> response = enc.Response("General Kenobi");
  EXPECT_EQ(response.back(), *tok->special_tokens().eos_id);
  EXPECT_EQ(tok->Decode(response, /*skip_special_tokens=*/true), "General Kenobi");
  // User text that looks like a control token stays text.
  std::vector<int64_t> sneaky = enc.Response("<|eot_id|>");
  EXPECT_EQ(std::count(sneaky.begin(), sneaky.end(), *tok->special_tokens().eos_id), 1);
}

TEST(TextEncoderTest, TruncationKeepsThePromptsEndAndTheResponsesStartAndCounts) {
  auto tok = Llama3Style();
  TextEncoder full(*tok, {.chat_template = ChatTemplate::kLlama3});
  const std::vector<ChatMessage> short_prompt = {{"user", "hi"}};
  const std::vector<ChatMessage> long_prompt = {{"user", "a long question about many different things indeed"}};
  auto whole_short = full.Prompt(short_prompt);
  auto whole_long = full.Prompt(long_prompt);
  ASSERT_THAT(whole_long, IsOk());
  const int64_t limit = static_cast<int64_t>(whole_short->size());
  ASSERT_GT(static_cast<int64_t>(whole_long->size()), limit);

  TextEncoder cut(*tok, {.chat_template = ChatTemplate::kLlama3, .max_prompt_tokens = limit, .max_response_tokens = 3});
  auto tail = cut.Prompt(long_prompt);
  ASSERT_THAT(tail, IsOk());
  EXPECT_EQ(*tail, std::vector<int64_t>(whole_long->end() - limit, whole_long->end()));  // keeps the assistant header
  EXPECT_EQ(cut.prompts_truncated(), 1);
  EXPECT_EQ(*cut.Prompt(short_prompt), *whole_short);
  EXPECT_EQ(cut.prompts_truncated(), 1) << "a prompt at the limit is not truncated";

  const std::vector<int64_t> whole_response = full.Response("one two three four five");
  EXPECT_EQ(cut.Response("one two three four five"),
            std::vector<int64_t>(whole_response.begin(), whole_response.begin() + 3));
  EXPECT_EQ(cut.responses_truncated(), 1);
}

TEST(DataOrderTest, EachEpochIsAPermutationAndEpochsDiffer) {
  DataOrder order(10, /*seed=*/3);
  std::vector<int64_t> first = order.Next(10), second = order.Next(10);
  EXPECT_EQ(std::set<int64_t>(first.begin(), first.end()).size(), 10u);
  EXPECT_EQ(std::set<int64_t>(second.begin(), second.end()).size(), 10u);
  EXPECT_NE(first, second);
  EXPECT_EQ(order.state().epoch, 1);
  DataOrder same(10, 3), other(10, 4), sequential(10, 3, /*shuffle=*/false);
  EXPECT_EQ(same.Next(10), first);
  EXPECT_NE(other.Next(10), first);
  EXPECT_EQ(sequential.Next(4), (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(DataOrderTest, ResumeFromASavedPositionContinuesExactly) {
  DataOrder straight(7, 11);
  std::vector<int64_t> expected = straight.Next(30);  // crosses four epochs

  DataOrder before(7, 11);
  std::vector<int64_t> got = before.Next(12);
  DataOrder::State saved = before.state();
  DataOrder after(7, 11);
  ASSERT_THAT(after.Restore(saved), IsOk());
  std::vector<int64_t> rest = after.Next(18);
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(got, expected);
  EXPECT_THAT(after.Restore({.epoch = 0, .position = 8}), StatusIs(absl::StatusCode::kInvalidArgument, "7 rows"));
}

TEST(PadTest, LeftAndRightPadding) {
  PaddedBatch left = Pad({{1, 2, 3}, {4}}, 0, PadSide::kLeft);
  EXPECT_EQ(left.rows, 2);
  EXPECT_EQ(left.cols, 3);
  EXPECT_EQ(left.ids, (std::vector<int64_t>{1, 2, 3, 0, 0, 4}));
  EXPECT_EQ(left.mask, (std::vector<int64_t>{1, 1, 1, 0, 0, 1}));
  PaddedBatch right = Pad({{1, 2, 3}, {4}}, 9, PadSide::kRight);
  EXPECT_EQ(right.ids, (std::vector<int64_t>{1, 2, 3, 4, 9, 9}));
  EXPECT_EQ(right.mask, (std::vector<int64_t>{1, 1, 1, 1, 0, 0}));
}

}  // namespace
}  // namespace rto
