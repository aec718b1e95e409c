#include "common/tokenizer/chat_format.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/jinja/jinja.h"

namespace rto {

ChatFormat::ChatFormat(ChatTemplate named) : named_(named) {}

absl::StatusOr<ChatFormat> ChatFormat::FromJinja(absl::string_view source) {
  absl::StatusOr<jinja::Template> parsed = jinja::Template::Parse(source);
  if (!parsed.ok()) return absl::InvalidArgumentError(absl::StrCat("chat template: ", parsed.status().message()));
  ChatFormat format;
  format.jinja_ = std::make_shared<const jinja::Template>(std::move(*parsed));
  return format;
}

absl::StatusOr<ChatFormat> ChatFormat::Of(const Tokenizer& tokenizer, absl::string_view name) {
  if (!name.empty()) {
    absl::StatusOr<ChatTemplate> named = ParseChatTemplateName(name);
    if (!named.ok()) return named.status();
    return ChatFormat(*named);
  }
  const std::string& source = tokenizer.chat_template();
  if (source.empty()) {
    return absl::InvalidArgumentError(
        "the tokenizer has no chat_template; set the chat template by name: chatml (qwen2), llama3, mistral or plain");
  }
  absl::StatusOr<ChatFormat> jinja = FromJinja(source);
  if (jinja.ok()) return jinja;
  absl::StatusOr<ChatTemplate> detected = DetectChatTemplate(source);
  if (!detected.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(jinja.status().message(), "; and ", detected.status().message()));
  }
  std::cerr << "warning: " << jinja.status().message() << "; rendering with the named template '"
            << ChatTemplateName(*detected) << "' instead\n";
  return ChatFormat(*detected);
}

absl::StatusOr<std::string> ChatFormat::Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                               const ChatTokens& tokens) const {
  if (jinja_ == nullptr) return RenderChat(named_, messages, add_generation_prompt, tokens);
  nlohmann::ordered_json context = {{"messages", nlohmann::ordered_json::array()},
                                    {"add_generation_prompt", add_generation_prompt},
                                    {"bos_token", tokens.bos},
                                    {"eos_token", tokens.eos},
                                    {"tools", nullptr},
                                    {"documents", nullptr}};
  for (const ChatMessage& m : messages) context["messages"].push_back({{"role", m.role}, {"content", m.content}});
  jinja::RenderOptions options;
  options.strftime_now = strftime_now_;
  return jinja_->Render(context, options);
}

std::string ChatFormat::name() const { return jinja_ != nullptr ? "jinja" : ChatTemplateName(named_); }

}  // namespace rto
