// The byte-level BPE tokenizer on a tokenizer.json the test builds, with expected encodings
// worked out by hand. Parity with the Python `tokenizers` library is in hf_tokenizer_test.cc.
#include "common/tokenizer/hf_tokenizer.h"

#include <random>

#include "common/tokenizer/unicode.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_util.h"

namespace rto {
namespace {

using nlohmann::json;
using testing::IsOk;
using testing::StatusIs;

constexpr char kLlama3Pattern[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The byte-level spelling of a byte string, as tokenizer.json writes tokens.
std::string ByteLevel(const std::string& bytes) {
  std::string out;
  for (unsigned char b : bytes) unicode::AppendUtf8(unicode::ByteToCodePoint()[b], &out);
  return out;
}

// Byte b has id b; merges follow in the order given (their rank), ids from 256 on.
json MakeTokenizerJson(const std::vector<std::pair<std::string, std::string>>& merges, bool string_merges) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[ByteLevel(std::string(1, static_cast<char>(b)))] = b;
  json merge_list = json::array();
  int next = 256;
  for (const auto& [a, b] : merges) {
    vocab[ByteLevel(a + b)] = next++;
    if (string_merges) {
      merge_list.push_back(ByteLevel(a) + " " + ByteLevel(b));
    } else {
      merge_list.push_back({ByteLevel(a), ByteLevel(b)});
    }
  }
  json j;
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"Regex", kLlama3Pattern}}}, {"behavior", "Isolated"}, {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  j["decoder"] = {{"type", "ByteLevel"}};
  j["model"] = {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}, {"ignore_merges", false}};
  j["added_tokens"] = {
      {{"id", 300}, {"content", "<|bos|>"}, {"special", true}},
      {{"id", 301}, {"content", "<|eot|>"}, {"special", true}},
      {{"id", 302}, {"content", "<x>"}, {"special", false}},
  };
  j["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single",
       {{{"SpecialToken", {{"id", "<|bos|>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
      {"special_tokens", {{"<|bos|>", {{"id", "<|bos|>"}, {"ids", {300}}, {"tokens", {"<|bos|>"}}}}}}};
  return j;
}

const std::vector<std::pair<std::string, std::string>> kMerges = {
    {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"},  // 256..259: "hello"
    {" ", "w"}, {"o", "r"}, {" w", "or"},                 // 260..262: " wor"
    {"3", "4"}, {"1", "2"}, {"12", "3"},                  // 263..265: "34", "12", "123"
    {" ", " "},                                           // 266: two spaces
};

std::unique_ptr<HfTokenizer> Make(bool string_merges = true) {
  auto t = HfTokenizer::Create(MakeTokenizerJson(kMerges, string_merges).dump(), "", "test/tokenizer.json");
  EXPECT_THAT(t, IsOk());
  return t.ok() ? std::move(*t) : nullptr;
}

std::vector<int64_t> Plain(const Tokenizer& t, const std::string& text) {
  return t.Encode(text, {.add_special_tokens = false});
}

TEST(HfTokenizerTest, HandWorkedEncodings) {
  auto t = Make();
  EXPECT_EQ(Plain(*t, "hello"), (std::vector<int64_t>{259}));
  // " world": the pre-tokenizer keeps the space with the word; " w"+"or" merge, "l" "d" stay bytes.
  EXPECT_EQ(Plain(*t, "hello world"), (std::vector<int64_t>{259, 262, 'l', 'd'}));
  // Contractions split off case-insensitively.
  EXPECT_EQ(Plain(*t, "I'M"), (std::vector<int64_t>{'I', '\'', 'M'}));
  // Numbers split into runs of at most 3 digits before BPE: "123" "4", not "12" "34".
  EXPECT_EQ(Plain(*t, "1234"), (std::vector<int64_t>{265, '4'}));
  EXPECT_EQ(Plain(*t, "34"), (std::vector<int64_t>{263}));
  // "a   b": "a", "  " (spaces but the last), " b".
  EXPECT_EQ(Plain(*t, "a   b"), (std::vector<int64_t>{'a', 266, ' ', 'b'}));
  EXPECT_EQ(Plain(*t, "\n\n"), (std::vector<int64_t>{'\n', '\n'}));
  EXPECT_EQ(Plain(*t, "👍"), (std::vector<int64_t>{0xF0, 0x9F, 0x91, 0x8D}));
  EXPECT_EQ(Plain(*t, ""), (std::vector<int64_t>{}));
}

TEST(HfTokenizerTest, PairListMergesEqualStringMerges) {
  auto a = Make(true), b = Make(false);
  for (const char* text : {"hello world", "1234 12345", "a   b"}) EXPECT_EQ(Plain(*a, text), Plain(*b, text)) << text;
}

TEST(HfTokenizerTest, PostProcessorAddsBos) {
  auto t = Make();
  EXPECT_EQ(t->Encode("hello"), (std::vector<int64_t>{300, 259}));
  EXPECT_EQ(t->Encode(""), (std::vector<int64_t>{300}));
}

TEST(HfTokenizerTest, SpecialTokenTextStaysTextUnlessParsingIsAskedFor) {
  auto t = Make();
  std::vector<int64_t> as_text = Plain(*t, "hi<|eot|>");
  EXPECT_EQ(std::count(as_text.begin(), as_text.end(), 301), 0);
  EXPECT_EQ(t->DecodeBytes(as_text), "hi<|eot|>");
  EXPECT_EQ(t->Encode("hi<|eot|>", {.add_special_tokens = false, .parse_special = true}),
            (std::vector<int64_t>{'h', 'i', 301}));
  // A non-special added token is always matched.
  EXPECT_EQ(Plain(*t, "a<x>b"), (std::vector<int64_t>{'a', 302, 'b'}));
  EXPECT_TRUE(t->IsSpecial(301));
  EXPECT_FALSE(t->IsSpecial(302));
  EXPECT_EQ(t->Decode({300, 259, 301}, /*skip_special_tokens=*/true), "hello");
  EXPECT_EQ(t->Decode({300, 259, 301}), "<|bos|>hello<|eot|>");
}

TEST(HfTokenizerTest, InvalidUtf8RoundTripsAsBytesAndDecodesLossily) {
  auto t = Make();
  const std::string bad = "ok\xff\xfe hello\xC3";
  std::vector<int64_t> ids = Plain(*t, bad);
  EXPECT_EQ(t->DecodeBytes(ids), bad);
  EXPECT_EQ(t->Decode(ids), "ok\uFFFD\uFFFD hello\uFFFD");
}

TEST(HfTokenizerTest, RandomBytesAndRandomUtf8RoundTrip) {
  auto t = Make();
  std::mt19937 rng(7);
  const std::vector<std::string> alphabet = {"a", "Z",  " ", "  ", "\n",   "\t",       "1",     "23",      "'s",
                                             "é", "中", "👍", "!?", "\r\n", "\xCC\x81", "hello", "<|eot|>", "<x>"};
  for (int i = 0; i < 300; ++i) {
    std::string bytes, text;
    for (int k = 0; k < 20; ++k) {
      bytes.push_back(static_cast<char>(rng() % 256));
      text += alphabet[rng() % alphabet.size()];
    }
    EXPECT_EQ(t->DecodeBytes(Plain(*t, bytes)), bytes);
    EXPECT_EQ(t->Decode(Plain(*t, text)), text);
  }
}

TEST(HfTokenizerTest, NfcNormalizerComposes) {
  json j = MakeTokenizerJson(kMerges, true);
  j["normalizer"] = {{"type", "NFC"}};
  auto t = HfTokenizer::Create(j.dump(), "", "t.json");
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ((*t)->Encode("e\xCC\x81", {.add_special_tokens = false}), (std::vector<int64_t>{0xC3, 0xA9}));
}

TEST(HfTokenizerTest, TokenizerConfigSetsSpecialTokensAndBosPolicy) {
  json config = {{"bos_token", "<|bos|>"},
                 {"eos_token", {{"content", "<|eot|>"}}},
                 {"add_bos_token", false},
                 {"chat_template", "{{ '<|im_start|>' }}"}};
  auto t = HfTokenizer::Create(MakeTokenizerJson(kMerges, true).dump(), config.dump(), "t.json");
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(*(*t)->special_tokens().bos_id, 300);
  EXPECT_EQ(*(*t)->special_tokens().eos_id, 301);
  EXPECT_EQ((*t)->special_tokens().eos, "<|eot|>");
  EXPECT_EQ((*t)->Encode("hello"), (std::vector<int64_t>{259}));  // add_bos_token false wins
  EXPECT_EQ((*t)->chat_template(), "{{ '<|im_start|>' }}");
}

// A malformed file is InvalidArgument; a component rto does not implement is Unimplemented (so
// LoadTokenizer can fall back to tokenizer.model); both name what is wrong.
struct BadJson {
  std::string label;
  std::function<void(json&)> edit;
  absl::StatusCode code;
  std::string expected;
};
class BadTokenizerJsonTest : public ::testing::TestWithParam<BadJson> {};

TEST_P(BadTokenizerJsonTest, IsRejectedWithAReason) {
  json j = MakeTokenizerJson(kMerges, true);
  GetParam().edit(j);
  EXPECT_THAT(HfTokenizer::Create(j.dump(), "", "bad/tokenizer.json"), StatusIs(GetParam().code, GetParam().expected));
}

constexpr auto kMalformed = absl::StatusCode::kInvalidArgument;
constexpr auto kUnsupported = absl::StatusCode::kUnimplemented;

INSTANTIATE_TEST_SUITE_P(
    Corpus, BadTokenizerJsonTest,
    ::testing::Values(BadJson{"wordpiece", [](json& j) { j["model"]["type"] = "WordPiece"; }, kUnsupported,
                              "model type 'WordPiece' (supported: BPE, Unigram, WordLevel) is not supported"},
                      BadJson{"missing_byte", [](json& j) { j["model"]["vocab"].erase(ByteLevel("\x07")); }, kMalformed,
                              "byte 0x07 has no token"},
                      BadJson{"merge_unknown", [](json& j) { j["model"]["merges"].push_back("q zz"); }, kMalformed,
                              "uses a token not in the vocab"},
                      BadJson{"merge_shape", [](json& j) { j["model"]["merges"].push_back(1); }, kMalformed,
                              "neither 'a b' nor [a, b]"},
                      BadJson{"normalizer",
                              [](json& j) {
                                j["normalizer"] = {{"type", "BertNormalizer"}};
                              },
                              kUnsupported, "normalizer 'BertNormalizer' is not supported"},
                      BadJson{"pretok",
                              [](json& j) {
                                j["pre_tokenizer"] = {{"type", "UnicodeScripts"}};
                              },
                              kUnsupported, "pre-tokenizer 'UnicodeScripts' is not supported"},
                      BadJson{"after_byte_level",
                              [](json& j) {
                                j["pre_tokenizer"]["pretokenizers"].push_back({{"type", "Digits"}});
                              },
                              kUnsupported, "a pre-tokenizer ('Digits') after ByteLevel"},
                      BadJson{"regex",
                              [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed"; },
                              kMalformed, "does not compile"},
                      BadJson{"behavior",
                              [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Sideways"; },
                              kMalformed, "split behavior 'Sideways' is none of"},
                      BadJson{"decoder",
                              [](json& j) {
                                j["decoder"] = {{"type", "WordPiece"}};
                              },
                              kUnsupported, "decoder 'WordPiece' is not supported"},
                      BadJson{"charsmap",
                              [](json& j) {
                                j["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", "%%%"}};
                              },
                              kMalformed, "precompiled_charsmap is not base64"},
                      BadJson{"unigram_unk",
                              [](json& j) {
                                j["model"] = {{"type", "Unigram"}, {"vocab", json::array({json::array({"a", -1.0})})}};
                              },
                              kUnsupported, "a ByteLevel pre-tokenizer with a Unigram model"},
                      BadJson{"dropout", [](json& j) { j["model"]["dropout"] = 0.1; }, kUnsupported, "dropout"},
                      BadJson{"added",
                              [](json& j) {
                                j["added_tokens"].push_back({{"id", -1}, {"content", "x"}});
                              },
                              kMalformed, "added_tokens"},
                      BadJson{"post_shape",
                              [](json& j) {
                                j["post_processor"] = {{"type", "BertProcessing"}};
                              },
                              kMalformed, "BertProcessing needs cls and sep as [token, id]"},
                      BadJson{"post",
                              [](json& j) {
                                j["post_processor"] = {{"type", "Fancy"}};
                              },
                              kUnsupported, "post_processor 'Fancy' is not supported"}),
    [](const ::testing::TestParamInfo<BadJson>& info) { return info.param.label; });

TEST(HfTokenizerTest, UnigramWithoutUnkIdIsMalformed) {
  json j = {{"model", {{"type", "Unigram"}, {"vocab", json::array({json::array({"a", -1.0})})}}}};
  EXPECT_THAT(HfTokenizer::Create(j.dump(), "", "u/tokenizer.json"),
              StatusIs(kMalformed, "Unigram unk_id is missing or outside the vocab"));
}

TEST(HfTokenizerTest, NotJson) {
  EXPECT_THAT(HfTokenizer::Create("{", "", "x/tokenizer.json"),
              StatusIs(absl::StatusCode::kInvalidArgument, "x/tokenizer.json: not valid JSON"));
}

}  // namespace
}  // namespace rto
