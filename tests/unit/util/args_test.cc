#include "common/util/args.h"

#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;

TEST(ArgsTest, ParsesBothFlagFormsSwitchesAndPositionals) {
  auto args = Args::Parse({"pos1", "--out", "dir", "--seed=7", "--verbose", "pos2"}, {"out", "seed"}, {"verbose"});
  ASSERT_THAT(args, IsOk());
  EXPECT_EQ(args->GetString("out", ""), "dir");
  EXPECT_EQ(*args->GetInt("seed", 0), 7);
  EXPECT_TRUE(args->Has("verbose"));
  EXPECT_EQ(args->positionals(), (std::vector<std::string>{"pos1", "pos2"}));
  EXPECT_EQ(*args->GetDouble("missing", 2.5), 2.5);
}

TEST(ArgsTest, AnUnknownFlagNamesTheNearestKnownOneOnlyWhenItIsATypo) {
  const std::set<std::string> flags = {"seed", "max-new-tokens", "out"};
  EXPECT_THAT(Args::Parse({"--sed", "1"}, flags),
              StatusIs(absl::StatusCode::kInvalidArgument, "unknown flag --sed (did you mean --seed?)"));
  EXPECT_THAT(Args::Parse({"--max-new-token", "1"}, flags),
              StatusIs(absl::StatusCode::kInvalidArgument, "(did you mean --max-new-tokens?)"));
  EXPECT_THAT(Args::Parse({"--verbos"}, flags, {"verbose"}),
              StatusIs(absl::StatusCode::kInvalidArgument, "(did you mean --verbose?)"));
  // Nothing near: no suggestion.
  auto far = Args::Parse({"--temperature", "1"}, flags);
  EXPECT_THAT(far, StatusIs(absl::StatusCode::kInvalidArgument, "unknown flag --temperature"));
  EXPECT_EQ(std::string(far.status().message()).find("did you mean"), std::string::npos);
}

TEST(ArgsTest, UnknownFlagMissingValueAndBadNumbersAreErrors) {
  EXPECT_THAT(Args::Parse({"--bogus", "1"}, {"out"}),
              StatusIs(absl::StatusCode::kInvalidArgument, "unknown flag --bogus"));
  EXPECT_THAT(Args::Parse({"--out"}, {"out"}), StatusIs(absl::StatusCode::kInvalidArgument, "--out needs a value"));
  auto args = Args::Parse({"--seed", "x1", "--p", "0.5.1", "--ids", "1,b"}, {"seed", "p", "ids"});
  ASSERT_THAT(args, IsOk());
  EXPECT_THAT(args->GetInt("seed", 0), StatusIs(absl::StatusCode::kInvalidArgument, "--seed: 'x1' is not an integer"));
  EXPECT_THAT(args->GetDouble("p", 0), StatusIs(absl::StatusCode::kInvalidArgument, "not a number"));
  EXPECT_THAT(args->GetIntList("ids"), StatusIs(absl::StatusCode::kInvalidArgument, "'b' is not an integer"));
  EXPECT_THAT(args->GetRequired("out"), StatusIs(absl::StatusCode::kInvalidArgument, "--out is required"));
}

TEST(ArgsTest, RepeatedFlagsKeepEveryValue) {
  auto args = Args::Parse({"--set", "a=1", "--set=b=2"}, {"set"});
  ASSERT_THAT(args, IsOk());
  EXPECT_EQ(args->GetAll("set"), (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_EQ(args->GetString("set", ""), "b=2");
  EXPECT_TRUE(args->GetAll("other").empty());
}

TEST(ArgsTest, IntList) {
  auto args = Args::Parse({"--ids", "2,7,11"}, {"ids"});
  ASSERT_THAT(args, IsOk());
  EXPECT_EQ(*args->GetIntList("ids"), (std::vector<int64_t>{2, 7, 11}));
}

}  // namespace
}  // namespace rto
