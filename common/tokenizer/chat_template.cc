#include "common/tokenizer/chat_template.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace rto {
namespace {

absl::Status CheckRoles(const std::vector<ChatMessage>& messages) {
  if (messages.empty()) return absl::InvalidArgumentError("a conversation needs at least one message");
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& r = messages[i].role;
    if (r != "system" && r != "user" && r != "assistant") {
      return absl::InvalidArgumentError(
          absl::StrCat("message ", i, ": role '", r, "' is not one of system, user, assistant"));
    }
    if (r == "system" && i != 0)
      return absl::InvalidArgumentError(absl::StrCat("message ", i, ": a system message must come first"));
  }
  return absl::OkStatus();
}

std::string Capitalized(const std::string& role) {
  std::string s = role;
  if (!s.empty()) s[0] = absl::ascii_toupper(static_cast<unsigned char>(s[0]));
  return s;
}

}  // namespace

absl::StatusOr<ChatTemplate> ParseChatTemplateName(absl::string_view name) {
  if (name == "chatml" || name == "qwen2") return ChatTemplate::kChatML;
  if (name == "llama3") return ChatTemplate::kLlama3;
  if (name == "mistral") return ChatTemplate::kMistral;
  if (name == "plain") return ChatTemplate::kPlain;
  return absl::InvalidArgumentError(
      absl::StrCat("chat template '", name, "' is not known; choose one of chatml (qwen2), llama3, mistral, plain"));
}

std::string ChatTemplateName(ChatTemplate t) {
  switch (t) {
    case ChatTemplate::kChatML: return "chatml";
    case ChatTemplate::kLlama3: return "llama3";
    case ChatTemplate::kMistral: return "mistral";
    case ChatTemplate::kPlain: return "plain";
  }
  return "?";
}

absl::StatusOr<ChatTemplate> DetectChatTemplate(absl::string_view jinja) {
  if (absl::StrContains(jinja, "<|im_start|>")) return ChatTemplate::kChatML;
  if (absl::StrContains(jinja, "<|start_header_id|>")) return ChatTemplate::kLlama3;
  if (absl::StrContains(jinja, "[INST]") && !absl::StrContains(jinja, "<<SYS>>")) return ChatTemplate::kMistral;
  if (absl::StrContains(jinja, "| capitalize }}: {{ message['content'] }}")) return ChatTemplate::kPlain;
  std::string start(jinja.substr(0, 80));
  return absl::InvalidArgumentError(
      absl::StrCat("the tokenizer's chat_template is not one rto knows (it starts \"", start,
                   "\"); set the chat template by name: chatml (qwen2), llama3, mistral or plain"));
}

absl::StatusOr<std::string> RenderChat(ChatTemplate t, const std::vector<ChatMessage>& messages,
                                       bool add_generation_prompt, const ChatTokens& tokens) {
  if (absl::Status s = CheckRoles(messages); !s.ok()) return s;
  std::string out;
  switch (t) {
    case ChatTemplate::kChatML:
      if (messages[0].role != "system") out += "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n";
      for (const ChatMessage& m : messages)
        absl::StrAppend(&out, "<|im_start|>", m.role, "\n", m.content, "<|im_end|>\n");
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      return out;
    case ChatTemplate::kLlama3:
      out = tokens.bos;
      for (const ChatMessage& m : messages) {
        absl::StrAppend(&out, "<|start_header_id|>", m.role, "<|end_header_id|>\n\n",
                        absl::StripAsciiWhitespace(m.content), "<|eot_id|>");
      }
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      return out;
    case ChatTemplate::kMistral: {
      // Mistral has no system role: the system prompt leads the first user turn.
      size_t first = messages[0].role == "system" ? 1 : 0;
      out = tokens.bos;
      for (size_t i = first; i < messages.size(); ++i) {
        const ChatMessage& m = messages[i];
        bool user_turn = (i - first) % 2 == 0;
        if ((m.role == "user") != user_turn) {
          return absl::InvalidArgumentError(
              absl::StrCat("message ", i, ": mistral conversations alternate user and assistant, starting with user"));
        }
        if (user_turn) {
          std::string content = m.content;
          if (first == 1 && i == 1) content = absl::StrCat(messages[0].content, "\n\n", content);
          absl::StrAppend(&out, "[INST] ", content, " [/INST]");
        } else {
          absl::StrAppend(&out, m.content, tokens.eos);
        }
      }
      return out;  // the generation prompt is the [/INST] already written
    }
    case ChatTemplate::kPlain:
      for (const ChatMessage& m : messages) absl::StrAppend(&out, Capitalized(m.role), ": ", m.content, "\n\n");
      if (add_generation_prompt) out += "Assistant:";
      return out;
  }
  return absl::InternalError("unknown chat template");
}

}  // namespace rto
