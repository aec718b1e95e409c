#include "services/rollout/rollout_service.h"

#include "absl/strings/str_cat.h"
#include "common/rpc/handler.h"
#include "common/rpc/wire.h"
#include "common/util/status_macros.h"

namespace rto {

RolloutService::RolloutService(Rollout& actor, ServiceMetrics* metrics, ServiceOptions options)
    : actor_(actor), metrics_(metrics), mailbox_(options.mailbox_capacity) {}

grpc::Status RolloutService::Generate(grpc::ServerContext* context, const v1::GenerateRequest* request,
                                      grpc::ServerWriter<v1::GenerateResponse>* writer) {
  return Handle(metrics_, "Generate", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(RolloutRequest r, wire::FromProto(*request));
    ObserveMailbox(metrics_, mailbox_);
    // Each trajectory goes out in its own message as soon as it is complete, so every message
    // stays far below the size limit. Only the actor thread writes during the call.
    int64_t tokens = 0;
    RTO_RETURN_IF_ERROR(mailbox_
                            .Call<bool>(context->deadline(),
                                        [&]() -> absl::StatusOr<bool> {
                                          bool client_gone = false;
                                          RTO_RETURN_IF_ERROR(actor_.GenerateStreaming(r, [&](Trajectory t) {
                                            tokens += static_cast<int64_t>(t.response.size());
                                            v1::GenerateResponse message;
                                            wire::ToProto(t, message.add_trajectories());
                                            if (!client_gone && !writer->Write(message)) client_gone = true;
                                          }));
                                          if (client_gone) return absl::CancelledError("the client went away");
                                          return true;
                                        })
                            .status());
    if (metrics_) metrics_->Counter(metric::kGeneratedTokens).Increment(tokens);
    return absl::OkStatus();
  });
}

grpc::Status RolloutService::SyncWeights(grpc::ServerContext* context, const v1::SyncWeightsRequest* request,
                                         v1::SyncWeightsResponse* response) {
  return Handle(metrics_, "SyncWeights", [&]() -> absl::Status {
    const WeightSync sync = wire::FromProto(*request);
    if (sync.group->rank < 1 || sync.group->rank >= sync.group->world_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("a rollout worker's rank must be in [1, ", sync.group->world_size, "), not ", sync.group->rank));
    }
    ObserveMailbox(metrics_, mailbox_);
    RTO_ASSIGN_OR_RETURN(WeightSyncStats stats,
                         mailbox_.Call<WeightSyncStats>(
                             context->deadline(), [&] { return actor_.SyncWeights(sync); }, Mailbox::Lane::kControl));
    wire::ToProto(stats, response);
    ObserveWeightSync(metrics_, stats);
    if (metrics_) metrics_->Gauge(metric::kPolicyVersion).Set(stats.version);
    return absl::OkStatus();
  });
}

grpc::Status RolloutService::WeightsHash(grpc::ServerContext* context, const v1::WeightsHashRequest*,
                                         v1::WeightsHashResponse* response) {
  return HandleWeightsHash(
      metrics_, mailbox_, context->deadline(), [&] { return actor_.Fingerprint(); }, response);
}

}  // namespace rto
