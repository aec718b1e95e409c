// The role interfaces over gRPC: the coordinator drives remote services through the same
// Rollout / Scorer / Critic / Learner interfaces as in-process actors. Every call has a deadline;
// idempotent calls (generation is keyed by step, prompt and sample; scoring and evaluation are
// pure) retry UNAVAILABLE and RESOURCE_EXHAUSTED with exponential backoff and jitter; training
// calls are never retried. Pools spread a batch over N rollout or M scorer replicas and put the
// results back in order. Torch-free.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/actors/roles.h"
#include "common/weight_sync/group_options.h"
#include "rto/v1/critic.grpc.pb.h"
#include "rto/v1/learner.grpc.pb.h"
#include "rto/v1/rollout.grpc.pb.h"
#include "rto/v1/scorer.grpc.pb.h"

namespace rto {

struct ClientOptions {
  std::chrono::milliseconds deadline{std::chrono::minutes(10)};
  int attempts = 4;  // idempotent calls only
  std::chrono::milliseconds backoff{100};
  int64_t max_message_bytes = 256 << 20;
};

std::shared_ptr<grpc::Channel> Connect(const std::string& address, const ClientOptions& options);
// Polls grpc.health.v1 until the server answers SERVING or `timeout` passes.
absl::Status WaitHealthy(const std::shared_ptr<grpc::Channel>& channel, const std::string& name,
                         std::chrono::milliseconds timeout);

// The weight broadcast group as the control plane sees it: the learner's store, the current
// generation and its size (learner + rollout workers). Thread-safe.
class WeightPlan {
 public:
  explicit WeightPlan(WeightGroupOptions base) : base_(std::move(base)) {}
  // A new generation of `world_size` ranks (after membership changed).
  void Reform(int world_size);
  void set_store_port(int port);
  WeightGroupOptions For(int rank) const;

 private:
  mutable std::mutex mu_;
  WeightGroupOptions base_;
};

class RemoteRollout : public Rollout {
 public:
  RemoteRollout(std::shared_ptr<grpc::Channel> channel, ClientOptions options, std::shared_ptr<WeightPlan> plan,
                int rank);
  absl::StatusOr<std::vector<Trajectory>> Generate(const RolloutRequest& request) override;
  absl::Status SyncWeights(int64_t version) override;
  absl::StatusOr<v1::WeightsHashResponse> WeightsHash();

 private:
  std::unique_ptr<v1::Rollout::Stub> stub_;
  ClientOptions options_;
  std::shared_ptr<WeightPlan> plan_;
  int rank_;
};

// N rollout workers as one: prompts are split into N contiguous shares (samples of a prompt stay
// on one worker), generated in parallel and put back in order; weights sync on all at once.
class RolloutPool : public Rollout {
 public:
  explicit RolloutPool(std::vector<std::unique_ptr<RemoteRollout>> workers) : workers_(std::move(workers)) {}
  absl::StatusOr<std::vector<Trajectory>> Generate(const RolloutRequest& request) override;
  absl::Status SyncWeights(int64_t version) override;
  const std::vector<std::unique_ptr<RemoteRollout>>& workers() const { return workers_; }
  // Swaps in the client of a replacement worker (between calls, never during one).
  void Replace(size_t index, std::unique_ptr<RemoteRollout> worker) { workers_[index] = std::move(worker); }

 private:
  std::vector<std::unique_ptr<RemoteRollout>> workers_;
};

class RemoteScorer : public Scorer {
 public:
  RemoteScorer(std::shared_ptr<grpc::Channel> channel, ClientOptions options);
  absl::StatusOr<ScoreResult> Score(const std::vector<Trajectory>& trajectories, bool with_dpo) override;

 private:
  std::unique_ptr<v1::Scorer::Stub> stub_;
  ClientOptions options_;
};

// M scorer replicas as one: trajectories split into M contiguous shares, scored in parallel.
class ScorerPool : public Scorer {
 public:
  explicit ScorerPool(std::vector<std::unique_ptr<Scorer>> replicas) : replicas_(std::move(replicas)) {}
  absl::StatusOr<ScoreResult> Score(const std::vector<Trajectory>& trajectories, bool with_dpo) override;

 private:
  std::vector<std::unique_ptr<Scorer>> replicas_;
};

class RemoteCritic : public Critic {
 public:
  RemoteCritic(std::shared_ptr<grpc::Channel> channel, ClientOptions options);
  absl::StatusOr<TokenValues> Values(const std::vector<Trajectory>& trajectories) override;
  absl::StatusOr<Metrics> Train(const ValueExperience& experience, int64_t step) override;
  absl::Status Save(const std::string& dir) override;
  absl::Status Restore(const std::string& dir) override;

 private:
  std::unique_ptr<v1::Critic::Stub> stub_;
  ClientOptions options_;
};

class RemoteLearner : public Learner {
 public:
  // Asks the learner for its version and weight store port (see store_port()).
  static absl::StatusOr<std::unique_ptr<RemoteLearner>> Create(std::shared_ptr<grpc::Channel> channel,
                                                               ClientOptions options, std::shared_ptr<WeightPlan> plan);
  absl::StatusOr<PolicyEvaluation> Evaluate(const std::vector<Trajectory>& trajectories) override;
  absl::StatusOr<Metrics> Train(const PolicyExperience& experience, int64_t step) override;
  absl::StatusOr<int64_t> PublishWeights() override;
  int64_t version() const override { return version_; }
  absl::Status Save(const std::string& dir) override;
  absl::Status Restore(const std::string& dir) override;
  absl::Status SavePolicy(const std::string& dir) override;
  absl::StatusOr<v1::WeightsHashResponse> WeightsHash();
  int store_port() const { return store_port_; }

 private:
  RemoteLearner(std::shared_ptr<grpc::Channel> channel, ClientOptions options, std::shared_ptr<WeightPlan> plan);
  absl::Status RefreshStatus();
  std::unique_ptr<v1::Learner::Stub> stub_;
  ClientOptions options_;
  std::shared_ptr<WeightPlan> plan_;
  int64_t version_ = 0;
  int store_port_ = 0;
  std::string weight_transport_;  // of the last broadcast, logged when it changes
};

}  // namespace rto
