// Parity with the Python `tokenizers` library: tokenizer.json files trained and saved by it,
// with its encodings of tricky and random strings (scripts/make_tokenizer_fixtures.py).
#include <filesystem>
#include <fstream>

#include "common/tokenizer/chat_template.h"
#include "common/tokenizer/hf_tokenizer.h"
#include "common/tokenizer/sentencepiece_tokenizer.h"
#include "common/tokenizer/tokenizer.h"
#include "common/util/file.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_util.h"

namespace rto {
namespace {

using nlohmann::json;
using testing::IsOk;

std::string FixtureDir(const std::string& name) { return testing::SourceDir() + "/tests/fixtures/tokenizers/" + name; }

json ReadJson(const std::string& path) { return json::parse(testing::ReadFile(path)); }

class HfTokenizerParityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HfTokenizerParityTest, EncodesAndDecodesLikeTokenizers) {
  auto tok = LoadTokenizer(FixtureDir(GetParam()));
  ASSERT_THAT(tok, IsOk());
  json golden = ReadJson(FixtureDir(GetParam()) + "/golden.json");
  ASSERT_GT(golden.size(), 50u);
  for (const json& g : golden) {
    const std::string text = g["text"];
    // The Python library matches special-token text by default: parse_special = true.
    EXPECT_EQ((*tok)->Encode(text, {.add_special_tokens = true, .parse_special = true}),
              g["ids"].get<std::vector<int64_t>>())
        << "text: " << text;
    EXPECT_EQ((*tok)->Encode(text, {.add_special_tokens = false, .parse_special = true}),
              g["ids_no_special"].get<std::vector<int64_t>>())
        << "text: " << text;
    if (g.contains("ids_specials_as_text")) {
      EXPECT_EQ((*tok)->Encode(text, {.add_special_tokens = false, .parse_special = false}),
                g["ids_specials_as_text"].get<std::vector<int64_t>>())
          << "text: " << text;
    }
    std::vector<int64_t> ids = g["ids"].get<std::vector<int64_t>>();
    EXPECT_EQ((*tok)->Decode(ids), g["decoded"].get<std::string>()) << "text: " << text;
    if (g.contains("decoded_skip_special")) {
      EXPECT_EQ((*tok)->Decode(ids, true), g["decoded_skip_special"].get<std::string>()) << "text: " << text;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfTokenizerParityTest,
                         ::testing::Values("llama3-style", "gpt2-style", "qwen2-style", "llama2-json-legacy",
                                           "llama2-json", "unigram-json", "unigram-bytefallback-json", "wordlevel",
                                           "nfkc-bytelevel", "sequence-normalizer", "charbpe", "split-removed",
                                           "split-isolated", "split-merged-previous", "split-merged-next",
                                           "split-contiguous", "split-inverted", "split-inverted-string",
                                           "metaspace-always", "metaspace-never", "post-sequence"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

class HfChatTemplateParityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HfChatTemplateParityTest, RendersAndEncodesLikeTransformers) {
  auto tok = LoadTokenizer(FixtureDir(GetParam()));
  ASSERT_THAT(tok, IsOk());
  auto kind = DetectChatTemplate((*tok)->chat_template());
  ASSERT_THAT(kind, IsOk());
  json golden = ReadJson(FixtureDir(GetParam()) + "/chat_golden.json");
  ASSERT_GE(golden.size(), 3u);
  for (const json& g : golden) {
    std::vector<ChatMessage> messages;
    for (const json& m : g["messages"]) messages.push_back({m["role"], m["content"]});
    auto text = RenderChat(*kind, messages, g["add_generation_prompt"],
                           {(*tok)->special_tokens().bos, (*tok)->special_tokens().eos});
    ASSERT_THAT(text, IsOk());
    EXPECT_EQ(*text, g["text"].get<std::string>());
    EXPECT_EQ((*tok)->Encode(*text, {.add_special_tokens = false, .parse_special = true}),
              g["ids"].get<std::vector<int64_t>>());
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfChatTemplateParityTest, ::testing::Values("llama3-style", "qwen2-style"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(HfTokenizerParityTest, A32kVocabularyEncodesAMegabyteCorpusLikeTokenizers) {
  auto tok = LoadTokenizer(FixtureDir("big"));
  ASSERT_THAT(tok, IsOk());
  auto corpus = ReadFileToString(FixtureDir("big") + "/corpus.txt");
  ASSERT_THAT(corpus, IsOk());
  json expected = ReadJson(FixtureDir("big") + "/corpus_encoding.json");
  std::vector<int64_t> ids = (*tok)->Encode(*corpus, {.add_special_tokens = false});
  ASSERT_EQ(static_cast<int64_t>(ids.size()), expected["num_ids"].get<int64_t>());
  std::vector<int64_t> first(ids.begin(), ids.begin() + 64);
  EXPECT_EQ(first, expected["first_64_ids"].get<std::vector<int64_t>>());
  uint64_t sum = 0, h = 0xcbf29ce484222325ull;
  for (int64_t id : ids) {
    sum += static_cast<uint64_t>(id);
    for (int k = 0; k < 4; ++k) {
      h ^= (static_cast<uint64_t>(id) >> (8 * k)) & 0xFF;
      h *= 0x100000001b3ull;
    }
  }
  EXPECT_EQ(sum, expected["ids_sum"].get<uint64_t>());
  char hex[32];
  std::snprintf(hex, sizeof(hex), "0x%016llx", static_cast<unsigned long long>(h));
  EXPECT_EQ(std::string(hex), expected["fnv1a64_le_u32"].get<std::string>());
  EXPECT_EQ((*tok)->Decode(ids), *corpus);
}

}  // namespace
}  // namespace rto

namespace rto {
namespace {

// Hub directories of SentencePiece models carry tokenizer.json and tokenizer.model: the first
// wins (as in transformers); one with a component rto lacks yields to the second; a malformed one
// is an error however many files there are.
TEST(LoadTokenizerTest, ADirectoryWithBothFilesLoadsTokenizerJsonFirstAndFallsBackOnlyForWhatIsUnsupported) {
  const std::string hub = FixtureDir("llama2-json-legacy");
  auto both = LoadTokenizer(hub);
  ASSERT_THAT(both, IsOk());
  EXPECT_NE(dynamic_cast<const HfTokenizer*>(both->get()), nullptr);

  testing::TempDir tmp;
  std::filesystem::copy_file(hub + "/tokenizer.model", tmp.Join("tokenizer.model"));
  std::filesystem::copy_file(hub + "/tokenizer_config.json", tmp.Join("tokenizer_config.json"));
  json j = ReadJson(hub + "/tokenizer.json");
  j["pre_tokenizer"] = {{"type", "UnicodeScripts"}};
  ASSERT_THAT(WriteFileAtomically(tmp.Join("tokenizer.json"), j.dump()), IsOk());
  auto fallback = LoadTokenizer(tmp.path());
  ASSERT_THAT(fallback, IsOk());
  EXPECT_NE(dynamic_cast<const SentencePieceTokenizer*>(fallback->get()), nullptr);
  EXPECT_EQ((*fallback)->Encode("Hello world"), (*both)->Encode("Hello world"));

  ASSERT_THAT(WriteFileAtomically(tmp.Join("tokenizer.json"), "{\"model\": 3"), IsOk());
  EXPECT_THAT(LoadTokenizer(tmp.path()), testing::StatusIs(absl::StatusCode::kInvalidArgument, "not valid JSON"));
  std::filesystem::remove(tmp.Join("tokenizer.model"));
  ASSERT_THAT(WriteFileAtomically(tmp.Join("tokenizer.json"), j.dump()), IsOk());
  EXPECT_THAT(LoadTokenizer(tmp.path()),
              testing::StatusIs(absl::StatusCode::kUnimplemented, "pre-tokenizer 'UnicodeScripts' is not supported"));
}

TEST(LoadTokenizerTest, ChatTemplateJinjaNextToTheConfigWins) {
  testing::TempDir tmp;
  const std::string hub = FixtureDir("qwen2-style");
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    std::filesystem::copy_file(hub + "/" + f, tmp.Join(f));
  }
  ASSERT_THAT(WriteFileAtomically(tmp.Join("chat_template.jinja"), "{{ messages[0]['content'] }}"), IsOk());
  auto tok = LoadTokenizer(tmp.path());
  ASSERT_THAT(tok, IsOk());
  EXPECT_EQ((*tok)->chat_template(), "{{ messages[0]['content'] }}");
}

}  // namespace
}  // namespace rto
