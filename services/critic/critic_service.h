// The critic role's gRPC service over its actor (the Critic interface); the contract every role's
// service keeps is in common/rpc/server.h. Torch-free.
#pragma once

#include <grpcpp/grpcpp.h>

#include "common/actors/roles.h"
#include "common/rpc/mailbox.h"
#include "common/rpc/metrics.h"
#include "common/rpc/server.h"
#include "rto/v1/critic.grpc.pb.h"

namespace rto {

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
  grpc::Status Status(grpc::ServerContext* context, const v1::CriticStatusRequest* request,
                      v1::CriticStatusResponse* response) override;

 private:
  Critic& actor_;
  ServiceMetrics* metrics_;
  Mailbox mailbox_;
};

}  // namespace rto
