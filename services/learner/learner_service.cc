#include "services/learner/learner_service.h"

#include "absl/strings/str_cat.h"
#include "common/rpc/handler.h"
#include "common/rpc/wire.h"
#include "common/util/status_macros.h"

namespace rto {

LearnerService::LearnerService(Learner& actor, int rendezvous_port, ServiceMetrics* metrics, ServiceOptions options)
    : actor_(actor), rendezvous_port_(rendezvous_port), metrics_(metrics), mailbox_(options.mailbox_capacity) {}

grpc::Status LearnerService::Evaluate(grpc::ServerContext* context, const v1::TrajectoryBatch* request,
                                      v1::PolicyEvaluation* response) {
  return Handle(metrics_, "Evaluate", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(std::vector<Trajectory> batch, wire::FromProto(*request));
    ObserveMailbox(metrics_, mailbox_);
    RTO_ASSIGN_OR_RETURN(PolicyEvaluation e,
                         mailbox_.Call<PolicyEvaluation>(context->deadline(), [&] { return actor_.LogProbs(batch); }));
    wire::ToProto(e, response);
    return absl::OkStatus();
  });
}

grpc::Status LearnerService::Train(grpc::ServerContext* context, const v1::PolicyExperience* request,
                                   v1::Stats* response) {
  return Handle(metrics_, "Train", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(PolicyExperience e, wire::FromProto(*request));
    ObserveMailbox(metrics_, mailbox_);
    // The version is read on the actor thread, with the update that made it.
    struct Trained {
      Metrics metrics;
      int64_t version;
    };
    RTO_ASSIGN_OR_RETURN(Trained t, mailbox_.Call<Trained>(context->deadline(), [&]() -> absl::StatusOr<Trained> {
      RTO_ASSIGN_OR_RETURN(Metrics m, actor_.Train(e, request->step()));
      return Trained{std::move(m), actor_.version()};
    }));
    wire::ToProto(t.metrics, response);
    response->set_version(t.version);
    if (metrics_) metrics_->Gauge(metric::kPolicyVersion).Set(t.version);
    return absl::OkStatus();
  });
}

grpc::Status LearnerService::PublishWeights(grpc::ServerContext* context, const v1::PublishWeightsRequest* request,
                                            v1::PublishWeightsResponse* response) {
  return Handle(metrics_, "PublishWeights", [&]() -> absl::Status {
    WeightGroupOptions group = wire::FromProto(request->group());
    if (group.rank != 0) return absl::InvalidArgumentError("the learner is rank 0 of the weight group");
    group.store_port = rendezvous_port_;
    RTO_ASSIGN_OR_RETURN(WeightSyncStats stats, mailbox_.Call<WeightSyncStats>(
                                                    context->deadline(), [&] { return actor_.PublishWeights(group); },
                                                    Mailbox::Lane::kControl));
    wire::ToProto(stats, response);
    ObserveWeightSync(metrics_, stats);
    return absl::OkStatus();
  });
}

grpc::Status LearnerService::Status(grpc::ServerContext* context, const v1::LearnerStatusRequest*,
                                    v1::LearnerStatusResponse* response) {
  return Handle(metrics_, "Status", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(int64_t version,
                         mailbox_.Call<int64_t>(
                             context->deadline(), [&]() -> absl::StatusOr<int64_t> { return actor_.version(); },
                             Mailbox::Lane::kControl));
    response->set_version(version);
    response->set_store_port(rendezvous_port_);
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
  return HandleWeightsHash(
      metrics_, mailbox_, context->deadline(), [&] { return actor_.Fingerprint(); }, response);
}

}  // namespace rto
