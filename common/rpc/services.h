// The gRPC services of the roles: thin shells over the role interfaces. Handlers never touch a
// model: they decode and validate the request, post the work into the actor's mailbox, wait for
// the result and encode it. A full mailbox answers RESOURCE_EXHAUSTED; bad requests answer
// INVALID_ARGUMENT with the reason; every request is counted and timed for Prometheus.
// Torch-free: the torch side of weight handling sits behind WeightControl.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/actors/roles.h"
#include "common/rpc/mailbox.h"
#include "common/rpc/metrics.h"
#include "common/weight_sync/group_options.h"
#include "rto/v1/critic.grpc.pb.h"
#include "rto/v1/learner.grpc.pb.h"
#include "rto/v1/rollout.grpc.pb.h"
#include "rto/v1/scorer.grpc.pb.h"

namespace rto {

struct ServiceOptions {
  int64_t mailbox_capacity = 8;
};

// What a service needs from the torch side for weights: which broadcast group to use next, the
// hash of the current weights, and the last transfer's size, time and transport.
class WeightControl {
 public:
  virtual ~WeightControl() = default;
  virtual void SetGroup(const WeightGroupOptions& options) = 0;
  virtual uint64_t Hash() = 0;
  virtual int64_t last_bytes() = 0;
  virtual double last_seconds() = 0;
  virtual std::string last_transport() = 0;  // "shm", "gloo", "nccl" or "cuda_ipc"
  virtual int store_port() = 0;              // the learner's weight store (0 elsewhere)
};

class RolloutService final : public v1::Rollout::Service {
 public:
  RolloutService(Rollout& actor, WeightControl& weights, ServiceMetrics* metrics, ServiceOptions options);
  grpc::Status Generate(grpc::ServerContext* context, const v1::GenerateRequest* request,
                        grpc::ServerWriter<v1::GenerateResponse>* writer) override;
  grpc::Status SyncWeights(grpc::ServerContext* context, const v1::SyncWeightsRequest* request,
                           v1::SyncWeightsResponse* response) override;
  grpc::Status WeightsHash(grpc::ServerContext* context, const v1::WeightsHashRequest* request,
                           v1::WeightsHashResponse* response) override;

 private:
  Rollout& actor_;
  WeightControl& weights_;
  ServiceMetrics* metrics_;
  Mailbox mailbox_;
  int64_t version_ = 0;
};

class ScorerService final : public v1::Scorer::Service {
 public:
  ScorerService(Scorer& actor, ServiceMetrics* metrics, ServiceOptions options);
  grpc::Status Score(grpc::ServerContext* context, const v1::ScoreRequest* request,
                     v1::ScoreResponse* response) override;

 private:
  Scorer& actor_;
  ServiceMetrics* metrics_;
  Mailbox mailbox_;
};

class CriticService final : public v1::Critic::Service {
 public:
  CriticService(Critic& actor, ServiceMetrics* metrics, ServiceOptions options);
  grpc::Status Values(grpc::ServerContext* context, const v1::TrajectoryBatch* request,
                      v1::TokenValues* response) override;
  grpc::Status Train(grpc::ServerContext* context, const v1::ValueExperience* request, v1::Stats* response) override;
  grpc::Status Save(grpc::ServerContext* context, const v1::CheckpointRequest* request,
                    v1::CheckpointResponse* response) override;
  grpc::Status Restore(grpc::ServerContext* context, const v1::CheckpointRequest* request,
                       v1::CheckpointResponse* response) override;

 private:
  Critic& actor_;
  ServiceMetrics* metrics_;
  Mailbox mailbox_;
};

class LearnerService final : public v1::Learner::Service {
 public:
  LearnerService(Learner& actor, WeightControl& weights, ServiceMetrics* metrics, ServiceOptions options);
  grpc::Status Evaluate(grpc::ServerContext* context, const v1::TrajectoryBatch* request,
                        v1::PolicyEvaluation* response) override;
  grpc::Status Train(grpc::ServerContext* context, const v1::PolicyExperience* request, v1::Stats* response) override;
  grpc::Status PublishWeights(grpc::ServerContext* context, const v1::PublishWeightsRequest* request,
                              v1::PublishWeightsResponse* response) override;
  grpc::Status Status(grpc::ServerContext* context, const v1::LearnerStatusRequest* request,
                      v1::LearnerStatusResponse* response) override;
  grpc::Status Save(grpc::ServerContext* context, const v1::CheckpointRequest* request,
                    v1::CheckpointResponse* response) override;
  grpc::Status Restore(grpc::ServerContext* context, const v1::CheckpointRequest* request,
                       v1::CheckpointResponse* response) override;
  grpc::Status SavePolicy(grpc::ServerContext* context, const v1::CheckpointRequest* request,
                          v1::CheckpointResponse* response) override;
  grpc::Status WeightsHash(grpc::ServerContext* context, const v1::WeightsHashRequest* request,
                           v1::WeightsHashResponse* response) override;

 private:
  Learner& actor_;
  WeightControl& weights_;
  ServiceMetrics* metrics_;
  Mailbox mailbox_;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 picks a free port
  int64_t max_message_bytes = 256 << 20;
};
// Starts a server with `services` and grpc.health.v1 (SERVING once started); *bound_port gets
// the port.
absl::StatusOr<std::unique_ptr<grpc::Server>> StartServer(const std::vector<grpc::Service*>& services,
                                                          const ServerOptions& options, int* bound_port);

}  // namespace rto
