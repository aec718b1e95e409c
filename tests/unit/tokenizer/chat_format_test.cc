// Chat templates rendered from their Jinja source, against transformers' apply_chat_template on
// the corpus of real templates (tests/fixtures/chat_templates, scripts/make_chat_template_fixtures.py):
// every conversation of plain role/content messages without tools or extra variables, which is
// what rto's prompts are. (tests/unit/jinja runs every entry, tools and all, through the
// interpreter itself.)
#include "common/tokenizer/chat_format.h"

#include <ctime>
#include <iostream>
#include <set>

#include "nlohmann/json.hpp"
#include "tests/testing/test_util.h"

namespace rto {
namespace {

using nlohmann::json;
using testing::IsOk;
using testing::StatusIs;

const std::string kCorpus = "/tests/fixtures/chat_templates";

// Whether an entry's messages are plain {role, content: string} and nothing else is passed.
bool IsPlainConversation(const json& e) {
  if (e.contains("tools") || e.contains("extra_context") || e.contains("documents")) return false;
  if (!e["bos_token"].is_string() || !e["eos_token"].is_string()) return false;  // rto always has both
  for (const json& m : e["messages"]) {
    if (m.size() != 2 || !m.contains("role") || !m.contains("content") || !m["content"].is_string()) return false;
  }
  return true;
}

// The corpus's clock: 2026-01-15 12:00 (its header), formatted as strftime in the C locale.
std::string FixedDate(absl::string_view format) {
  std::tm t{};
  t.tm_year = 2026 - 1900;
  t.tm_mon = 0;
  t.tm_mday = 15;
  t.tm_hour = 12;
  t.tm_wday = 4;  // a Thursday
  t.tm_yday = 14;
  char buffer[256];
  const size_t n = std::strftime(buffer, sizeof(buffer), std::string(format).c_str(), &t);
  return std::string(buffer, n);
}

TEST(ChatFormatTest, RealTemplatesRenderAsTransformersDoes) {
  const json golden = json::parse(testing::ReadFile(testing::SourceDir() + kCorpus + "/golden.json"));
  std::set<std::string> templates;
  int rendered = 0, refused = 0;
  for (const json& e : golden["entries"]) {
    if (!IsPlainConversation(e)) continue;
    const std::string name = e["template"];
    auto format =
        ChatFormat::FromJinja(testing::ReadFile(testing::SourceDir() + kCorpus + "/templates/" + name + ".jinja"));
    ASSERT_THAT(format, IsOk()) << name;
    format->set_strftime_now([](absl::string_view f) { return FixedDate(f); });
    std::vector<ChatMessage> messages;
    for (const json& m : e["messages"]) messages.push_back({m["role"], m["content"]});
    auto text = format->Render(messages, e["add_generation_prompt"], {e["bos_token"], e["eos_token"]});
    if (e.contains("error")) {
      EXPECT_FALSE(text.ok()) << name << " " << e["case"];
      ++refused;
    } else {
      ASSERT_THAT(text, IsOk()) << name << " " << e["case"];
      EXPECT_EQ(*text, e["text"].get<std::string>()) << name << " " << e["case"];
      ++rendered;
    }
    templates.insert(name);
  }
  // Of the 59 templates, the rest need tools, extra variables or a missing BOS/EOS in every case.
  std::cout << templates.size() << " templates, " << rendered << " renderings equal, " << refused
            << " refusals as in transformers\n";
  EXPECT_GE(templates.size(), 50u);
  EXPECT_GE(rendered, 400);
  EXPECT_GE(refused, 20);
}

TEST(ChatFormatTest, ATemplateTheInterpreterRejectsFallsBackToTheRendererItsMarkersShow) {
  struct FakeTokenizer : Tokenizer {
    explicit FakeTokenizer(std::string t) { chat_template_ = std::move(t); }
    std::vector<int64_t> Encode(absl::string_view, const EncodeOptions&) const override { return {}; }
    std::string DecodeBytes(absl::Span<const int64_t>, bool) const override { return ""; }
    int64_t vocab_size() const override { return 0; }
    std::optional<int64_t> TokenToId(absl::string_view) const override { return std::nullopt; }
    bool IsSpecial(int64_t) const override { return false; }
  };
  // A template with a tag the interpreter does not take, but ChatML's markers.
  FakeTokenizer chatml("{% extends 'base' %}<|im_start|>");
  auto format = ChatFormat::Of(chatml, "");
  ASSERT_THAT(format, IsOk());
  EXPECT_EQ(format->name(), "chatml");
  FakeTokenizer unknown("{% extends 'base' %}");
  EXPECT_THAT(ChatFormat::Of(unknown, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, "set the chat template by name"));
  FakeTokenizer none("");
  EXPECT_THAT(ChatFormat::Of(none, ""), StatusIs(absl::StatusCode::kInvalidArgument, "has no chat_template"));
  auto named = ChatFormat::Of(unknown, "llama3");
  ASSERT_THAT(named, IsOk());
  EXPECT_EQ(named->name(), "llama3");
  FakeTokenizer jinja("{{ messages[0]['content'] }}");
  auto own = ChatFormat::Of(jinja, "");
  ASSERT_THAT(own, IsOk());
  EXPECT_EQ(own->name(), "jinja");
  EXPECT_EQ(*own->Render({{"user", "hi"}}, true, {}), "hi");
}

TEST(ChatFormatTest, TheSyntheticTasksTemplateRendersAsThePlainRenderer) {
  // The template rto synth writes into its tokenizer_config.json (common/synth/tasks.cc).
  auto jinja = ChatFormat::FromJinja(
      "{% for message in messages %}{{ message['role'] | capitalize }}: {{ message['content'] }}\n\n{% endfor %}"
      "{% if add_generation_prompt %}Assistant:{% endif %}");
  ASSERT_THAT(jinja, IsOk());
  const std::vector<ChatMessage> conversation = {
      {"system", "S"}, {"user", "a b\n c"}, {"assistant", "x"}, {"user", "y"}};
  for (bool gen : {true, false}) {
    EXPECT_EQ(*jinja->Render(conversation, gen, {}), *ChatFormat(ChatTemplate::kPlain).Render(conversation, gen, {}));
  }
}

}  // namespace
}  // namespace rto
