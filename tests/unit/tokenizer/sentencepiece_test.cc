// SentencePiece models trained by the Python `sentencepiece` library, with its encodings
// (scripts/make_sentencepiece_fixtures.py): rto parses the .model and encodes natively.
#include "common/tokenizer/sentencepiece_tokenizer.h"

#include "common/util/file.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_util.h"

namespace rto {
namespace {

using nlohmann::json;
using testing::IsOk;
using testing::StatusIs;

std::string FixtureDir(const std::string& name) {
  return testing::SourceDir() + "/tests/fixtures/sentencepiece/" + name;
}

class SentencePieceParityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SentencePieceParityTest, EncodesAndDecodesLikeSentencePiece) {
  auto tok = LoadTokenizer(FixtureDir(GetParam()));
  ASSERT_THAT(tok, IsOk());
  json golden = json::parse(testing::ReadFile(FixtureDir(GetParam()) + "/golden.json"));
  ASSERT_GT(golden.size(), 40u);
  for (const json& g : golden) {
    const std::string text = g["text"];
    std::vector<int64_t> ids = g["ids"].get<std::vector<int64_t>>();
    EXPECT_EQ((*tok)->Encode(text, {.add_special_tokens = false}), ids) << "text: " << text;
    EXPECT_EQ((*tok)->Decode(ids), g["decoded"].get<std::string>()) << "text: " << text;
  }
  // Hand-made id lists: control and unknown ids, lone byte pieces, sequences starting mid-word.
  json decodes = json::parse(testing::ReadFile(FixtureDir(GetParam()) + "/decode_golden.json"));
  ASSERT_GT(decodes.size(), 10u);
  for (const json& d : decodes) {
    EXPECT_EQ((*tok)->Decode(d["ids"].get<std::vector<int64_t>>()), d["decoded"].get<std::string>()) << d["ids"].dump();
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SentencePieceParityTest, ::testing::Values("llama2-style", "unigram"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(SentencePieceTest, BosAndControlTokens) {
  auto tok = LoadTokenizer(FixtureDir("llama2-style"));
  ASSERT_THAT(tok, IsOk());
  const SpecialTokens& s = (*tok)->special_tokens();
  ASSERT_TRUE(s.bos_id && s.eos_id);
  EXPECT_EQ(s.bos, "<s>");
  EXPECT_EQ(s.eos, "</s>");
  std::vector<int64_t> with_bos = (*tok)->Encode("hello");
  EXPECT_EQ(with_bos.front(), *s.bos_id);
  // "</s>" in user text stays text; parsed on request (a rendered chat template).
  std::vector<int64_t> plain = (*tok)->Encode("hi</s>", {.add_special_tokens = false});
  EXPECT_EQ(std::count(plain.begin(), plain.end(), *s.eos_id), 0);
  std::vector<int64_t> parsed = (*tok)->Encode("hi</s>", {.add_special_tokens = false, .parse_special = true});
  EXPECT_EQ(parsed.back(), *s.eos_id);
  EXPECT_TRUE((*tok)->IsSpecial(*s.eos_id));
  EXPECT_EQ((*tok)->Decode(parsed), "hi");
}

TEST(SentencePieceTest, MalformedModelsAreRejected) {
  auto bytes = ReadFileToString(FixtureDir("llama2-style") + "/tokenizer.model");
  ASSERT_THAT(bytes, IsOk());
  EXPECT_THAT(SentencePieceTokenizer::Create(bytes->substr(0, bytes->size() / 2), "", "half.model"),
              StatusIs(absl::StatusCode::kInvalidArgument, "half.model: not a valid SentencePiece model"));
  EXPECT_THAT(SentencePieceTokenizer::Create("", "", "empty.model"),
              StatusIs(absl::StatusCode::kInvalidArgument, "no pieces"));
  EXPECT_THAT(SentencePieceTokenizer::Create("\xff\xff\xff\xff", "", "junk.model"),
              StatusIs(absl::StatusCode::kInvalidArgument, "malformed"));
}

}  // namespace
}  // namespace rto
