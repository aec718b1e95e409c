// How a conversation becomes text: the model's own Jinja chat template, rendered as transformers'
// apply_chat_template renders it (common/jinja), or one of the named renderers of
// chat_template.h, which stay for models without a template, for the synthetic tasks and as the
// fallback for a template the interpreter cannot run. Copyable; immutable; thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/tokenizer/chat_template.h"
#include "common/tokenizer/tokenizer.h"

namespace rto {

namespace jinja {
class Template;
}

class ChatFormat {
 public:
  // A named renderer (implicit, so that a ChatTemplate is a ChatFormat).
  ChatFormat(ChatTemplate named = ChatTemplate::kPlain);  // NOLINT(google-explicit-constructor)

  // Jinja source; a parse error is InvalidArgument naming the line and column.
  static absl::StatusOr<ChatFormat> FromJinja(absl::string_view source);

  // The format of a model: the renderer `name` when given; else its tokenizer's chat template as
  // Jinja; a template the interpreter rejects falls back (with a warning on stderr) to the named
  // renderer its markers show. A tokenizer without a template needs a name.
  static absl::StatusOr<ChatFormat> Of(const Tokenizer& tokenizer, absl::string_view name);

  // The text of `messages`; with `add_generation_prompt`, ending where the assistant's reply
  // starts. Errors: the template's own raise_exception, or what the named renderer refuses.
  absl::StatusOr<std::string> Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                     const ChatTokens& tokens) const;

  // "jinja" or the renderer's name.
  std::string name() const;

  // The clock of templates that call strftime_now(format) (default: the local time now, as
  // transformers); a test fixes the date with it.
  void set_strftime_now(std::function<std::string(absl::string_view format)> strftime_now) {
    strftime_now_ = std::move(strftime_now);
  }

 private:
  ChatTemplate named_;
  std::shared_ptr<const jinja::Template> jinja_;  // null: the named renderer
  std::function<std::string(absl::string_view)> strftime_now_;
};

}  // namespace rto
