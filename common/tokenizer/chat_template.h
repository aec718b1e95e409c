// Chat templates of the common model families, as named renderers (not a Jinja engine):
// the strings they produce equal what HF's apply_chat_template renders from the families'
// own Jinja templates. A tokenizer_config.json template is recognised by its markers.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rto {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

enum class ChatTemplate {
  kChatML,   // Qwen2 / Qwen2.5: <|im_start|>role\ncontent<|im_end|>\n, default system prompt
  kLlama3,   // <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>
  kMistral,  // [INST] user [/INST]assistant</s>
  kPlain,    // "User: ...\n\nAssistant: ...", for models without a chat format
};

// "chatml" (alias "qwen2"), "llama3", "mistral", "plain".
absl::StatusOr<ChatTemplate> ParseChatTemplateName(absl::string_view name);
std::string ChatTemplateName(ChatTemplate t);

// Recognises a Jinja chat_template from tokenizer_config.json. An unknown one is an error that
// quotes its start and says how to choose a template by name.
absl::StatusOr<ChatTemplate> DetectChatTemplate(absl::string_view jinja);

struct ChatTokens {
  std::string bos;  // e.g. "<|begin_of_text|>" or "<s>"
  std::string eos;  // e.g. "</s>" (Mistral closes assistant turns with it)
};

// Renders messages as text; with `add_generation_prompt`, ends with the header of an assistant
// turn so the model continues as the assistant. Errors name the offending message.
absl::StatusOr<std::string> RenderChat(ChatTemplate t, const std::vector<ChatMessage>& messages,
                                       bool add_generation_prompt, const ChatTokens& tokens);

}  // namespace rto
