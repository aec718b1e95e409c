#include "common/rpc/wire.h"

#include "tests/testing/test_util.h"

namespace rto::wire {
namespace {

using testing::IsOk;
using testing::StatusIs;

Trajectory Example() {
  return {.id = 7,
          .prompt_id = 3,
          .sample_index = 1,
          .policy_version = 12,
          .prompt = {1, 2, 300000},
          .response = {4, 5},
          .logprobs = {-0.5f, -1.25f},
          .stopped = true};
}

TEST(WireTest, TrajectoriesRoundTripThroughTheWireBytes) {
  v1::TrajectoryBatch batch;
  ToProto(std::vector<Trajectory>{Example(), Trajectory{.id = 8, .prompt = {9}, .response = {10}}}, &batch);
  v1::TrajectoryBatch parsed;
  ASSERT_TRUE(parsed.ParseFromString(batch.SerializeAsString()));
  auto back = FromProto(parsed);
  ASSERT_THAT(back, IsOk());
  ASSERT_EQ(back->size(), 2u);
  const Trajectory& t = (*back)[0];
  const Trajectory e = Example();
  EXPECT_EQ(t.id, e.id);
  EXPECT_EQ(t.prompt_id, e.prompt_id);
  EXPECT_EQ(t.sample_index, e.sample_index);
  EXPECT_EQ(t.policy_version, e.policy_version);
  EXPECT_EQ(t.prompt, e.prompt);
  EXPECT_EQ(t.response, e.response);
  EXPECT_EQ(t.logprobs, e.logprobs);
  EXPECT_TRUE(t.stopped);
  EXPECT_TRUE((*back)[1].logprobs.empty());
  // Packed: 8 bytes per id, 4 per log-prob, in one bytes field each.
  EXPECT_EQ(batch.trajectories(0).prompt().data().size(), 24u);
  EXPECT_EQ(batch.trajectories(0).logprobs().data().size(), 8u);
}

TEST(WireTest, CorruptTensorsAreRejectedWithWhatAndWhere) {
  v1::Trajectory t;
  ToProto(Example(), &t);
  v1::Trajectory bad = t;
  bad.mutable_response()->set_dtype(v1::DTYPE_F32);
  EXPECT_THAT(FromProto(bad).status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                                "trajectory 7 response: dtype DTYPE_F32, expected DTYPE_I64"));
  bad = t;
  bad.mutable_prompt()->mutable_data()->pop_back();
  EXPECT_THAT(FromProto(bad).status(), StatusIs(absl::StatusCode::kInvalidArgument, "23 bytes for 3 elements"));
  bad = t;
  bad.mutable_prompt()->add_shape(1);
  EXPECT_THAT(FromProto(bad).status(), StatusIs(absl::StatusCode::kInvalidArgument, "expected a 1-D tensor"));
  bad = t;
  bad.mutable_prompt()->set_shape(0, -1);
  EXPECT_THAT(FromProto(bad).status(), StatusIs(absl::StatusCode::kInvalidArgument, "expected a 1-D tensor"));
  bad = t;
  PackF32({-1.0f}, bad.mutable_logprobs());
  EXPECT_THAT(FromProto(bad).status(), StatusIs(absl::StatusCode::kInvalidArgument, "1 log-probs for 2"));
}

TEST(WireTest, TokenValuesKeepTheirRows) {
  TokenValues values = {{1.5f, 2.5f}, {}, {-3.0f}};
  v1::TokenValues proto;
  ToProto(values, &proto);
  auto back = FromProto(proto, "values");
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, values);
  proto.set_lengths(0, 3);
  EXPECT_THAT(FromProto(proto, "values").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "values: row lengths exceed the 3 values"));
  proto.set_lengths(0, 1);
  EXPECT_THAT(FromProto(proto, "values").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "values: row lengths sum to 2 but there are 3 values"));
}

TEST(WireTest, SamplingParamsAndStatsRoundTrip) {
  SamplingParams p{
      .temperature = 0.7, .top_k = 5, .top_p = 0.9, .max_new_tokens = 33, .stop_token_ids = {2, 9}, .seed = 42};
  v1::SamplingParams proto;
  ToProto(p, &proto);
  SamplingParams q = FromProto(proto);
  EXPECT_EQ(q.temperature, p.temperature);
  EXPECT_EQ(q.top_k, p.top_k);
  EXPECT_EQ(q.top_p, p.top_p);
  EXPECT_EQ(q.max_new_tokens, p.max_new_tokens);
  EXPECT_EQ(q.stop_token_ids, p.stop_token_ids);
  EXPECT_EQ(q.seed, p.seed);
  v1::Stats stats;
  ToProto(Metrics{{"a", 1.5}, {"b/c", -2}}, &stats);
  EXPECT_EQ(FromProto(stats), (Metrics{{"a", 1.5}, {"b/c", -2}}));
}

}  // namespace
}  // namespace rto::wire
