// The rollout role's gRPC service over its actor (the Rollout interface); the contract every role's
// service keeps is in common/rpc/server.h. Torch-free.
#pragma once

#include <grpcpp/grpcpp.h>

#include "common/actors/roles.h"
#include "common/rpc/mailbox.h"
#include "common/rpc/metrics.h"
#include "common/rpc/server.h"
#include "rto/v1/rollout.grpc.pb.h"

namespace rto {

class RolloutService final : public v1::Rollout::Service {
 public:
  RolloutService(Rollout& actor, ServiceMetrics* metrics, ServiceOptions options);
  grpc::Status Generate(grpc::ServerContext* context, const v1::GenerateRequest* request,
                        grpc::ServerWriter<v1::GenerateResponse>* writer) override;
  grpc::Status SyncWeights(grpc::ServerContext* context, const v1::SyncWeightsRequest* request,
                           v1::SyncWeightsResponse* response) override;
  grpc::Status WeightsHash(grpc::ServerContext* context, const v1::WeightsHashRequest* request,
                           v1::WeightsHashResponse* response) override;

 private:
  Rollout& actor_;
  ServiceMetrics* metrics_;
  Mailbox mailbox_;
};

}  // namespace rto
