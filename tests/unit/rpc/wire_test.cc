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

// Every role message through its bytes: what goes in comes out, and a broken part is named.
template <typename Proto>
Proto ThroughBytes(const Proto& message) {
  Proto parsed;
  EXPECT_TRUE(parsed.ParseFromString(message.SerializeAsString()));
  return parsed;
}

TEST(WireTest, RoleCallsRoundTrip) {
  RolloutRequest r{.prompts = {{4, {1, 2}}, {9, {3}}},
                   .samples_per_prompt = 3,
                   .sampling = {.temperature = 0.5, .max_new_tokens = 7},
                   .step = 11,
                   .first_trajectory_id = 120};
  v1::GenerateRequest generate;
  ToProto(r, &generate);
  auto r2 = FromProto(ThroughBytes(generate));
  ASSERT_THAT(r2, IsOk());
  ASSERT_EQ(r2->prompts.size(), 2u);
  EXPECT_EQ(r2->prompts[1].prompt_id, 9);
  EXPECT_EQ(r2->prompts[0].tokens, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(r2->samples_per_prompt, 3);
  EXPECT_EQ(r2->sampling.max_new_tokens, 7);
  EXPECT_EQ(r2->step, 11);
  EXPECT_EQ(r2->first_trajectory_id, 120u);
  generate.mutable_prompts(1)->mutable_tokens()->set_dtype(v1::DTYPE_F32);
  EXPECT_THAT(FromProto(generate).status(), StatusIs(absl::StatusCode::kInvalidArgument, "prompt 9: dtype"));

  WeightGroupOptions group;
  group.rank = 2;
  group.world_size = 3;
  v1::SyncWeightsRequest sync;
  ToProto(WeightSync{5, group}, &sync);
  WeightSync s = FromProto(ThroughBytes(sync));
  EXPECT_EQ(s.version, 5);
  ASSERT_TRUE(s.group.has_value());
  EXPECT_EQ(s.group->rank, 2);
  EXPECT_EQ(s.group->world_size, 3);
}

TEST(WireTest, RoleResultsAndExperienceRoundTrip) {
  ScoreResult score{.ref_logprobs = {{-1.0f, -2.0f}}, .dpo_logratio = {{0.5f, 0.25f}}, .rm_scores = {1.5f}};
  v1::ScoreResponse score_proto;
  ToProto(score, &score_proto);
  auto score2 = FromProto(ThroughBytes(score_proto));
  ASSERT_THAT(score2, IsOk());
  EXPECT_EQ(score2->ref_logprobs, score.ref_logprobs);
  EXPECT_EQ(score2->dpo_logratio, score.dpo_logratio);
  EXPECT_EQ(score2->rm_scores, score.rm_scores);
  score.dpo_logratio.clear();  // not asked for: nothing travels, nothing comes back
  score_proto.Clear();
  ToProto(score, &score_proto);
  EXPECT_FALSE(score_proto.has_dpo_logratio());
  ASSERT_THAT(FromProto(score_proto), IsOk());
  EXPECT_TRUE(FromProto(score_proto)->dpo_logratio.empty());

  PolicyEvaluation eval{.logprobs = {{-0.5f}}, .entropy = {{2.0f}}};
  v1::PolicyEvaluation eval_proto;
  ToProto(eval, &eval_proto);
  auto eval2 = FromProto(ThroughBytes(eval_proto));
  ASSERT_THAT(eval2, IsOk());
  EXPECT_EQ(eval2->logprobs, eval.logprobs);
  EXPECT_EQ(eval2->entropy, eval.entropy);

  PolicyExperience policy{.trajectories = {Example()}, .old_logprobs = {{-1.0f, -1.5f}}, .advantages = {{0.1f, 0.2f}}};
  v1::PolicyExperience policy_proto;
  ToProto(policy, 17, &policy_proto);
  EXPECT_EQ(policy_proto.step(), 17);
  auto policy2 = FromProto(ThroughBytes(policy_proto));
  ASSERT_THAT(policy2, IsOk());
  ASSERT_EQ(policy2->trajectories.size(), 1u);
  EXPECT_EQ(policy2->trajectories[0].response, Example().response);
  EXPECT_EQ(policy2->old_logprobs, policy.old_logprobs);
  EXPECT_EQ(policy2->advantages, policy.advantages);
  policy_proto.mutable_advantages()->add_lengths(1);
  EXPECT_THAT(FromProto(policy_proto).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "advantages: row lengths"));

  ValueExperience value{.trajectories = {Example()}, .old_values = {{1.0f, 2.0f}}, .returns = {{3.0f, 4.0f}}};
  v1::ValueExperience value_proto;
  ToProto(value, 3, &value_proto);
  EXPECT_EQ(value_proto.step(), 3);
  auto value2 = FromProto(ThroughBytes(value_proto));
  ASSERT_THAT(value2, IsOk());
  EXPECT_EQ(value2->old_values, value.old_values);
  EXPECT_EQ(value2->returns, value.returns);
  value_proto.mutable_batch()->mutable_trajectories(0)->mutable_prompt()->set_dtype(v1::DTYPE_F32);
  EXPECT_THAT(FromProto(value_proto).status(), StatusIs(absl::StatusCode::kInvalidArgument, "trajectory 7 prompt"));
}

}  // namespace
}  // namespace rto::wire
