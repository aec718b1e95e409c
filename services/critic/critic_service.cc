#include "services/critic/critic_service.h"

#include "absl/strings/str_cat.h"
#include "common/rpc/handler.h"
#include "common/rpc/wire.h"
#include "common/util/status_macros.h"

namespace rto {

CriticService::CriticService(Critic& actor, ServiceMetrics* metrics, ServiceOptions options)
    : actor_(actor), metrics_(metrics), mailbox_(options.mailbox_capacity) {}

grpc::Status CriticService::Values(grpc::ServerContext* context, const v1::TrajectoryBatch* request,
                                   v1::TokenValues* response) {
  return Handle(metrics_, "Values", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(std::vector<Trajectory> batch, wire::FromProto(*request));
    ObserveMailbox(metrics_, mailbox_);
    RTO_ASSIGN_OR_RETURN(TokenValues values,
                         mailbox_.Call<TokenValues>(context->deadline(), [&] { return actor_.Values(batch); }));
    wire::ToProto(values, response);
    return absl::OkStatus();
  });
}

grpc::Status CriticService::Train(grpc::ServerContext* context, const v1::ValueExperience* request,
                                  v1::Stats* response) {
  return Handle(metrics_, "Train", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(ValueExperience e, wire::FromProto(*request));
    ObserveMailbox(metrics_, mailbox_);
    RTO_ASSIGN_OR_RETURN(Metrics m,
                         mailbox_.Call<Metrics>(context->deadline(), [&] { return actor_.Train(e, request->step()); }));
    wire::ToProto(m, response);
    return absl::OkStatus();
  });
}

grpc::Status CriticService::Save(grpc::ServerContext* context, const v1::CheckpointRequest* request,
                                 v1::CheckpointResponse*) {
  return HandleCheckpoint(metrics_, mailbox_, context->deadline(), "Save", *request,
                          [&](const std::string& dir) { return actor_.Save(dir); });
}

grpc::Status CriticService::Restore(grpc::ServerContext* context, const v1::CheckpointRequest* request,
                                    v1::CheckpointResponse*) {
  return HandleCheckpoint(metrics_, mailbox_, context->deadline(), "Restore", *request,
                          [&](const std::string& dir) { return actor_.Restore(dir); });
}

grpc::Status CriticService::Status(grpc::ServerContext* context, const v1::CriticStatusRequest*,
                                   v1::CriticStatusResponse*) {
  return Handle(metrics_, "Status", [&]() -> absl::Status {
    return mailbox_
        .Call<bool>(
            context->deadline(), []() -> absl::StatusOr<bool> { return true; }, Mailbox::Lane::kControl)
        .status();
  });
}

}  // namespace rto
