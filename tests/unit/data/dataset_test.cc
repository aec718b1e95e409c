#include "common/data/dataset.h"

#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;
using testing::TempDir;

class DatasetTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& contents) {
    std::string path = tmp_.Join("data.jsonl");
    testing::WriteFile(path, contents);
    return path;
  }
  TempDir tmp_;
};

TEST_F(DatasetTest, PromptsAsStringsOrMessages) {
  auto rows = ReadPrompts(Write(R"({"prompt": "hi there"}
{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "why?"}]}

{"prompt": [{"role": "user", "content": "list form"}]}
)"),
                          {});
  ASSERT_THAT(rows, IsOk());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].prompt.size(), 1u);
  EXPECT_EQ((*rows)[0].prompt[0].role, "user");
  EXPECT_EQ((*rows)[0].prompt[0].content, "hi there");
  EXPECT_EQ((*rows)[1].prompt[0].role, "system");
  EXPECT_EQ((*rows)[2].line, 4);  // blank lines count toward line numbers
}

TEST_F(DatasetTest, PreferencePairsAsStringsAndUltraFeedbackConversations) {
  auto rows = ReadPreferences(Write(R"({"prompt": "q", "chosen": "good", "rejected": "bad"}
{"prompt": "ignored", "chosen": [{"role": "user", "content": "q2"}, {"role": "assistant", "content": "yes"}], "rejected": [{"role": "user", "content": "q2"}, {"role": "assistant", "content": "no"}]}
)"),
                              {});
  ASSERT_THAT(rows, IsOk());
  EXPECT_EQ((*rows)[0].prompt[0].content, "q");
  EXPECT_EQ((*rows)[0].chosen, "good");
  EXPECT_EQ((*rows)[1].prompt.size(), 1u);
  EXPECT_EQ((*rows)[1].prompt[0].content, "q2");
  EXPECT_EQ((*rows)[1].chosen, "yes");
  EXPECT_EQ((*rows)[1].rejected, "no");
}

TEST_F(DatasetTest, SftPairsAndConversationsWithConfigurableKeys) {
  ReadOptions options;
  options.keys.prompt = "instruction";
  options.keys.response = "output";
  auto rows = ReadSft(Write(R"({"instruction": "add 2+2", "output": "4"}
{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]}
)"),
                      options);
  ASSERT_THAT(rows, IsOk());
  EXPECT_EQ((*rows)[0].prompt[0].content, "add 2+2");
  EXPECT_EQ((*rows)[0].response, "4");
  EXPECT_EQ((*rows)[1].prompt.size(), 3u);
  EXPECT_EQ((*rows)[1].response, "d");
}

struct BadLine {
  std::string label;
  std::string line;
  std::string expected;
};
class BadLineTest : public DatasetTest, public ::testing::WithParamInterface<BadLine> {};

TEST_P(BadLineTest, FailModeNamesFileAndLine) {
  std::string path = Write("{\"prompt\": \"q\", \"chosen\": \"a\", \"rejected\": \"b\"}\n" + GetParam().line + "\n");
  EXPECT_THAT(ReadPreferences(path, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, path + ":2: " + GetParam().expected));
}

TEST_P(BadLineTest, SkipModeCountsAndKeepsTheGoodRows) {
  std::string path = Write("{\"prompt\": \"q\", \"chosen\": \"a\", \"rejected\": \"b\"}\n" + GetParam().line + "\n");
  ReadOptions options;
  options.bad_lines = BadLinePolicy::kSkip;
  ReadReport report;
  auto rows = ReadPreferences(path, options, &report);
  ASSERT_THAT(rows, IsOk());
  EXPECT_EQ(rows->size(), 1u);
  EXPECT_EQ(report.lines, 2);
  EXPECT_EQ(report.skipped, 1);
  ASSERT_EQ(report.first_errors.size(), 1u);
  EXPECT_NE(report.first_errors[0].find(":2: " + GetParam().expected), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, BadLineTest,
    ::testing::Values(
        BadLine{"bad_json", "{\"prompt\": ", "not valid JSON"}, BadLine{"not_object", "[1, 2]", "not a JSON object"},
        BadLine{"missing_key", "{\"prompt\": \"q\", \"chosen\": \"a\"}", "missing key 'rejected'"},
        BadLine{"wrong_type", "{\"prompt\": 3, \"chosen\": \"a\", \"rejected\": \"b\"}",
                "'prompt' must be a non-empty list"},
        BadLine{"empty_text", "{\"prompt\": \"q\", \"chosen\": \"  \", \"rejected\": \"b\"}", "'chosen' is empty"},
        BadLine{"invalid_utf8", "{\"prompt\": \"q\xff\", \"chosen\": \"a\", \"rejected\": \"b\"}", "invalid UTF-8"},
        BadLine{"bad_role", R"({"prompt": [{"role": "robot", "content": "x"}], "chosen": "a", "rejected": "b"})",
                "'prompt'[0] has role 'robot'"},
        BadLine{"not_assistant_last",
                R"({"chosen": [{"role": "user", "content": "x"}], "rejected": [{"role": "user", "content": "x"}]})",
                "the last message of 'chosen' is not the assistant's"},
        BadLine{
            "different_prompts",
            R"({"chosen": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "a"}], "rejected": [{"role": "user", "content": "y"}, {"role": "assistant", "content": "b"}]})",
            "'chosen' and 'rejected' have different prompts"}),
    [](const ::testing::TestParamInfo<BadLine>& info) { return info.param.label; });

TEST_F(DatasetTest, EmptyAndAllBadDatasetsAreErrors) {
  EXPECT_THAT(ReadPrompts(Write("\n  \n"), {}), StatusIs(absl::StatusCode::kInvalidArgument, "no usable rows"));
  ReadOptions skip;
  skip.bad_lines = BadLinePolicy::kSkip;
  EXPECT_THAT(ReadPrompts(Write("{}\n{}\n"), skip), StatusIs(absl::StatusCode::kInvalidArgument, "2 lines, 2 bad"));
  EXPECT_THAT(ReadPrompts(tmp_.Join("missing.jsonl"), {}), StatusIs(absl::StatusCode::kNotFound, "cannot open"));
}

}  // namespace
}  // namespace rto
