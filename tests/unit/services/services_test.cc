// Real gRPC services over real in-process actors (tiny random models), called through stubs:
// bad requests get INVALID_ARGUMENT or RESOURCE_EXHAUSTED with a reason and the service keeps
// serving; good ones work.
#include "common/rpc/server.h"

#include <ATen/ATen.h>

#include "common/rpc/wire.h"
#include "services/critic/critic_actor.h"
#include "services/critic/critic_client.h"
#include "services/critic/critic_service.h"
#include "services/learner/learner_actor.h"
#include "services/learner/learner_client.h"
#include "services/learner/learner_service.h"
#include "services/rollout/rollout_actor.h"
#include "services/rollout/rollout_client.h"
#include "services/rollout/rollout_service.h"
#include "services/scorer/scorer_actor.h"
#include "services/scorer/scorer_client.h"
#include "services/scorer/scorer_service.h"
#include "tests/testing/test_util.h"
#include "tests/testing/tiny_models.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;

std::unique_ptr<Transformer> Model(HeadKind head, uint64_t seed) {
  ModelConfig c = testing::TinyConfig();
  c.head = head;
  return testing::RandomModel(c, seed);
}

class ServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    weights_ = std::make_shared<InProcessWeightChannel>(std::chrono::milliseconds(100));
    rollout_ = std::make_unique<InProcessRollout>(Model(HeadKind::kLanguageModel, 1), weights_);
    scorer_ = std::make_unique<InProcessScorer>(Model(HeadKind::kLanguageModel, 1), nullptr, nullptr,
                                                Model(HeadKind::kScore, 2), 1.0);
    critic_ = std::make_unique<InProcessCritic>(Model(HeadKind::kScore, 2), ActorTrainOptions{}, 0.2, "");
    learner_ = std::make_unique<InProcessLearner>(Model(HeadKind::kLanguageModel, 1), ActorTrainOptions{}, 0.2, 1.0, "",
                                                  weights_);
    rollout_service_ = std::make_unique<RolloutService>(*rollout_, nullptr, ServiceOptions{});
    scorer_service_ = std::make_unique<ScorerService>(*scorer_, nullptr, ServiceOptions{});
    critic_service_ = std::make_unique<CriticService>(*critic_, nullptr, ServiceOptions{});
    learner_service_ = std::make_unique<LearnerService>(*learner_, 0, nullptr, ServiceOptions{});
    auto server =
        StartServer({rollout_service_.get(), scorer_service_.get(), critic_service_.get(), learner_service_.get()},
                    {.max_message_bytes = 1 << 20});
    ASSERT_THAT(server, IsOk());
    server_ = std::move(*server);
    const int port = server_->port();
    ClientOptions client;
    client.max_message_bytes = 64 << 20;  // the client would send more than the server takes
    channel_ = Connect("127.0.0.1:" + std::to_string(port), client);
    ASSERT_THAT(WaitHealthy(channel_, "test server", std::chrono::seconds(10)), IsOk());
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now()); }

  absl::Status Generate(const v1::GenerateRequest& request) {
    grpc::ClientContext context;
    auto reader = v1::Rollout::NewStub(channel_)->Generate(&context, request);
    v1::GenerateResponse response;
    while (reader->Read(&response)) {
    }
    const grpc::Status s = reader->Finish();
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  }

  static v1::GenerateRequest Request(std::vector<int64_t> tokens) {
    v1::GenerateRequest r;
    v1::Prompt* p = r.add_prompts();
    p->set_prompt_id(4);
    wire::PackI64(tokens, p->mutable_tokens());
    r.set_samples_per_prompt(2);
    r.mutable_sampling()->set_temperature(1.0);
    r.mutable_sampling()->set_top_p(1.0);
    r.mutable_sampling()->set_max_new_tokens(5);
    return r;
  }

  std::shared_ptr<InProcessWeightChannel> weights_;
  std::unique_ptr<InProcessRollout> rollout_;
  std::unique_ptr<InProcessScorer> scorer_;
  std::unique_ptr<InProcessCritic> critic_;
  std::unique_ptr<InProcessLearner> learner_;
  std::unique_ptr<RolloutService> rollout_service_;
  std::unique_ptr<ScorerService> scorer_service_;
  std::unique_ptr<CriticService> critic_service_;
  std::unique_ptr<LearnerService> learner_service_;
  std::unique_ptr<RpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ServicesTest, RolloutRejectsBadRequestsAndKeepsServing) {
  EXPECT_THAT(Generate(v1::GenerateRequest()), StatusIs(absl::StatusCode::kInvalidArgument, "no prompts"));
  EXPECT_THAT(Generate(Request({1, 2, 999})),
              StatusIs(absl::StatusCode::kInvalidArgument, "prompt 4: token id 999 is outside the vocabulary"));
  v1::GenerateRequest wrong_dtype = Request({1, 2});
  wrong_dtype.mutable_prompts(0)->mutable_tokens()->set_dtype(v1::DTYPE_F32);
  EXPECT_THAT(Generate(wrong_dtype), StatusIs(absl::StatusCode::kInvalidArgument, "prompt 4: dtype DTYPE_F32"));
  v1::GenerateRequest bad_params = Request({1, 2});
  bad_params.mutable_sampling()->set_top_p(0);
  EXPECT_THAT(Generate(bad_params), StatusIs(absl::StatusCode::kInvalidArgument, "top_p"));
  // Larger than the server's 1 MB message limit.
  EXPECT_THAT(Generate(Request(std::vector<int64_t>(200000, 1))), StatusIs(absl::StatusCode::kResourceExhausted, ""));
  // Still serving: the remote rollout, through the client of the role interface.
  RemoteRollout remote(channel_, ClientOptions(), std::make_shared<WeightPlan>(WeightGroupOptions()), 1);
  auto trajectories = remote.Generate({.prompts = {{4, {1, 2, 3}}},
                                       .samples_per_prompt = 2,
                                       .sampling = {.max_new_tokens = 5},
                                       .first_trajectory_id = 10});
  ASSERT_THAT(trajectories, IsOk());
  ASSERT_EQ(trajectories->size(), 2u);
  EXPECT_EQ((*trajectories)[1].id, 11u);
  EXPECT_EQ((*trajectories)[1].prompt_id, 4);
  EXPECT_EQ((*trajectories)[1].logprobs.size(), (*trajectories)[1].response.size());
}

TEST_F(ServicesTest, GenerationStreamsEachSequenceAsItFinishes) {
  v1::GenerateRequest request = Request({1, 2, 3});
  request.set_samples_per_prompt(12);
  request.mutable_sampling()->set_max_new_tokens(16);
  for (int64_t id = 0; id < 20; ++id) request.mutable_sampling()->add_stop_token_ids(id);
  grpc::ClientContext context;
  auto reader = v1::Rollout::NewStub(channel_)->Generate(&context, request);
  v1::GenerateResponse message;
  std::vector<size_t> lengths;
  while (reader->Read(&message)) {
    ASSERT_EQ(message.trajectories_size(), 1);
    lengths.push_back(message.trajectories(0).response().shape(0));
  }
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(lengths.size(), 12u);
  // Shorter responses finish first and arrive first.
  EXPECT_TRUE(std::is_sorted(lengths.begin(), lengths.end()));
  EXPECT_NE(lengths.front(), lengths.back()) << "the stop tokens should end some samples early";
  // The client puts them back in request order.
  RemoteRollout remote(channel_, ClientOptions(), std::make_shared<WeightPlan>(WeightGroupOptions()), 1);
  RolloutRequest r{.prompts = {{4, {1, 2, 3}}}, .samples_per_prompt = 12};
  r.sampling = wire::FromProto(request.sampling());
  auto trajectories = remote.Generate(r);
  ASSERT_THAT(trajectories, IsOk());
  for (size_t i = 0; i < trajectories->size(); ++i) EXPECT_EQ((*trajectories)[i].sample_index, static_cast<int64_t>(i));
}

TEST_F(ServicesTest, ScorerCriticAndLearnerRejectBadBatchesAndKeepServing) {
  RemoteScorer scorer(channel_, ClientOptions());
  RemoteCritic critic(channel_, ClientOptions());
  auto learner = RemoteLearner::Create(channel_, ClientOptions(), std::make_shared<WeightPlan>(WeightGroupOptions()),
                                       std::chrono::seconds(10));
  ASSERT_THAT(learner, IsOk());
  const Trajectory good{.id = 1, .prompt = {1, 2}, .response = {3, 4, 5}, .logprobs = {-1, -1, -1}};
  Trajectory out_of_vocab = good;
  out_of_vocab.response[1] = 61;
  EXPECT_THAT(scorer.Score({}, false).status(), StatusIs(absl::StatusCode::kInvalidArgument, "empty batch"));
  EXPECT_THAT(scorer.Score({out_of_vocab}, false).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "token id 61 is outside the vocabulary"));
  EXPECT_THAT(scorer.Score({good}, /*with_dpo=*/true).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, "no DPO model"));
  EXPECT_THAT(critic.Train({{good}, {{0, 0}}, {{1, 1, 1}}}, 0).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "2 old values for 3 tokens"));
  EXPECT_THAT((*learner)->Train({{good}, {{-1, -1, -1}}, {{1}}}, 0).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "1 advantages for 3 tokens"));
  EXPECT_THAT((*learner)->LogProbs({out_of_vocab}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "token id 61"));
  // A trajectory whose packed bytes do not match its shape never reaches the actor.
  v1::TrajectoryBatch corrupt;
  wire::ToProto(std::vector<Trajectory>{good}, &corrupt);
  corrupt.mutable_trajectories(0)->mutable_response()->mutable_data()->resize(5);
  grpc::ClientContext context;
  v1::TokenValues values;
  const grpc::Status s = v1::Critic::NewStub(channel_)->Values(&context, corrupt, &values);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("5 bytes for 3 elements"), std::string::npos) << s.error_message();
  // Still serving, with the right answers.
  auto scores = scorer.Score({good}, false);
  ASSERT_THAT(scores, IsOk());
  EXPECT_EQ(scores->ref_logprobs[0].size(), 3u);
  auto critic_values = critic.Values({good});
  ASSERT_THAT(critic_values, IsOk());
  EXPECT_EQ((*critic_values)[0].size(), 3u);
  auto evaluation = (*learner)->LogProbs({good});
  ASSERT_THAT(evaluation, IsOk());
  auto metrics = (*learner)->Train({{good}, evaluation->logprobs, {{1, 1, 1}}}, 0);
  ASSERT_THAT(metrics, IsOk());
  EXPECT_EQ((*learner)->version(), 1);  // refreshed from the service after training
}

}  // namespace
}  // namespace rto
