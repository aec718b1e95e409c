#include "services/learner/learner_service.h"

#include "absl/strings/str_cat.h"
#include "common/rpc/handler.h"
#include "common/rpc/wire.h"
#include "common/util/status_macros.h"

namespace rto {

LearnerService::LearnerService(Learner& actor, WeightControl& weights, ServiceMetrics* metrics, ServiceOptions options)
    : actor_(actor), weights_(weights), metrics_(metrics), mailbox_(options.mailbox_capacity) {}

grpc::Status LearnerService::Evaluate(grpc::ServerContext* context, const v1::TrajectoryBatch* request,
                                      v1::PolicyEvaluation* response) {
  return Handle(metrics_, "Evaluate", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(std::vector<Trajectory> batch, wire::FromProto(*request));
    ObserveMailbox(metrics_, mailbox_);
    RTO_ASSIGN_OR_RETURN(PolicyEvaluation e,
                         mailbox_.Call<PolicyEvaluation>(context->deadline(), [&] { return actor_.Evaluate(batch); }));
    wire::ToProto(e.logprobs, response->mutable_logprobs());
    wire::ToProto(e.entropy, response->mutable_entropy());
    return absl::OkStatus();
  });
}

grpc::Status LearnerService::Train(grpc::ServerContext* context, const v1::PolicyExperience* request,
                                   v1::Stats* response) {
  return Handle(metrics_, "Train", [&]() -> absl::Status {
    PolicyExperience e;
    RTO_ASSIGN_OR_RETURN(e.trajectories, wire::FromProto(request->batch()));
    RTO_ASSIGN_OR_RETURN(e.old_logprobs, wire::FromProto(request->old_logprobs(), "old_logprobs"));
    RTO_ASSIGN_OR_RETURN(e.advantages, wire::FromProto(request->advantages(), "advantages"));
    ObserveMailbox(metrics_, mailbox_);
    RTO_ASSIGN_OR_RETURN(Metrics m,
                         mailbox_.Call<Metrics>(context->deadline(), [&] { return actor_.Train(e, request->step()); }));
    wire::ToProto(m, response);
    if (metrics_) metrics_->Gauge("policy_version", "the learner's update count").Set(actor_.version());
    return absl::OkStatus();
  });
}

grpc::Status LearnerService::PublishWeights(grpc::ServerContext* context, const v1::PublishWeightsRequest* request,
                                            v1::PublishWeightsResponse* response) {
  return Handle(metrics_, "PublishWeights", [&]() -> absl::Status {
    WeightGroupOptions group = wire::FromProto(request->group());
    if (group.rank != 0) return absl::InvalidArgumentError("the learner is rank 0 of the weight group");
    group.store_port = weights_.store_port();
    RTO_ASSIGN_OR_RETURN(int64_t version, mailbox_.Call<int64_t>(context->deadline(), [&] {
      weights_.SetGroup(group);
      return actor_.PublishWeights();
    }));
    response->set_version(version);
    response->set_bytes(weights_.last_bytes());
    response->set_seconds(weights_.last_seconds());
    response->set_transport(weights_.last_transport());
    if (metrics_) {
      metrics_->Histogram("weight_sync_seconds", "time to broadcast the weights").Observe(weights_.last_seconds());
      metrics_->Gauge("weight_sync_shared_memory", "1 when the last weight sync went through shared memory")
          .Set(weights_.last_transport() == "shm" ? 1 : 0);
      metrics_->Counter("weight_sync_bytes_total", "weight bytes broadcast").Increment(weights_.last_bytes());
    }
    return absl::OkStatus();
  });
}

grpc::Status LearnerService::Status(grpc::ServerContext* context, const v1::LearnerStatusRequest*,
                                    v1::LearnerStatusResponse* response) {
  return Handle(metrics_, "Status", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(int64_t version, mailbox_.Call<int64_t>(context->deadline(), [&]() -> absl::StatusOr<int64_t> {
      return actor_.version();
    }));
    response->set_version(version);
    response->set_store_port(weights_.store_port());
    return absl::OkStatus();
  });
}

grpc::Status LearnerService::Save(grpc::ServerContext* context, const v1::CheckpointRequest* request,
                                  v1::CheckpointResponse*) {
  return HandleCheckpoint(metrics_, mailbox_, context->deadline(), "Save", *request,
                          [&](const std::string& dir) { return actor_.Save(dir); });
}

grpc::Status LearnerService::Restore(grpc::ServerContext* context, const v1::CheckpointRequest* request,
                                     v1::CheckpointResponse*) {
  return HandleCheckpoint(metrics_, mailbox_, context->deadline(), "Restore", *request,
                          [&](const std::string& dir) { return actor_.Restore(dir); });
}

grpc::Status LearnerService::SavePolicy(grpc::ServerContext* context, const v1::CheckpointRequest* request,
                                        v1::CheckpointResponse*) {
  return HandleCheckpoint(metrics_, mailbox_, context->deadline(), "SavePolicy", *request,
                          [&](const std::string& dir) { return actor_.SavePolicy(dir); });
}

grpc::Status LearnerService::WeightsHash(grpc::ServerContext* context, const v1::WeightsHashRequest*,
                                         v1::WeightsHashResponse* response) {
  return Handle(metrics_, "WeightsHash", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(uint64_t hash, mailbox_.Call<uint64_t>(context->deadline(), [&]() -> absl::StatusOr<uint64_t> {
      response->set_version(actor_.version());
      return weights_.Hash();
    }));
    response->set_hash(hash);
    return absl::OkStatus();
  });
}

}  // namespace rto
