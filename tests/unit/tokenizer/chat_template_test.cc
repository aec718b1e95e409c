// Chat templates rendered by hand-written expectations. ChatML and Llama-3 are also checked
// against transformers' apply_chat_template in hf_tokenizer_test.cc.
#include "common/tokenizer/chat_template.h"

#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;

const std::vector<ChatMessage> kConversation = {
    {"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello."}, {"user", "Bye"}};

std::string Render(ChatTemplate t, const std::vector<ChatMessage>& m, bool gen = true) {
  auto text = RenderChat(t, m, gen, {"<s>", "</s>"});
  EXPECT_THAT(text, IsOk());
  return text.ok() ? *text : "";
}

TEST(ChatTemplateTest, Mistral) {
  EXPECT_EQ(Render(ChatTemplate::kMistral, kConversation),
            "<s>[INST] Be brief.\n\nHi [/INST]Hello.</s>[INST] Bye [/INST]");
  EXPECT_EQ(Render(ChatTemplate::kMistral, {{"user", "Q"}}), "<s>[INST] Q [/INST]");
  EXPECT_THAT(RenderChat(ChatTemplate::kMistral, {{"user", "a"}, {"user", "b"}}, true, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, "message 1: mistral conversations alternate"));
}

TEST(ChatTemplateTest, ChatMLAddsTheDefaultSystemPrompt) {
  EXPECT_EQ(Render(ChatTemplate::kChatML, {{"user", "Hi"}}),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(Render(ChatTemplate::kChatML, {{"system", "S"}, {"user", "Hi"}}, false),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
}

TEST(ChatTemplateTest, Llama3TrimsContent) {
  EXPECT_EQ(Render(ChatTemplate::kLlama3, {{"user", "  Hi \n"}}),
            "<s><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplateTest, Plain) {
  EXPECT_EQ(Render(ChatTemplate::kPlain, kConversation),
            "System: Be brief.\n\nUser: Hi\n\nAssistant: Hello.\n\nUser: Bye\n\nAssistant:");
}

TEST(ChatTemplateTest, BadConversations) {
  EXPECT_THAT(RenderChat(ChatTemplate::kPlain, {}, true, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, "at least one"));
  EXPECT_THAT(RenderChat(ChatTemplate::kPlain, {{"robot", "x"}}, true, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, "message 0: role 'robot'"));
  EXPECT_THAT(RenderChat(ChatTemplate::kPlain, {{"user", "x"}, {"system", "y"}}, true, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, "message 1: a system message must come first"));
}

TEST(ChatTemplateTest, NamesAndDetection) {
  for (ChatTemplate t : {ChatTemplate::kChatML, ChatTemplate::kLlama3, ChatTemplate::kMistral, ChatTemplate::kPlain}) {
    EXPECT_EQ(*ParseChatTemplateName(ChatTemplateName(t)), t);
  }
  EXPECT_EQ(*ParseChatTemplateName("qwen2"), ChatTemplate::kChatML);
  EXPECT_THAT(ParseChatTemplateName("vicuna"), StatusIs(absl::StatusCode::kInvalidArgument, "choose one of"));
  EXPECT_EQ(*DetectChatTemplate("{{ '<|im_start|>' + message['role'] }}"), ChatTemplate::kChatML);
  EXPECT_EQ(*DetectChatTemplate("{{ bos_token }}{{ '[INST] ' + message['content'] + ' [/INST]' }}"),
            ChatTemplate::kMistral);
  EXPECT_THAT(DetectChatTemplate("{{ '[INST] <<SYS>>\\n' }}"),
              StatusIs(absl::StatusCode::kInvalidArgument, "set the chat template by name"));
}

}  // namespace
}  // namespace rto
