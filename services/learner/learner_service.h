// The learner role's gRPC service over its actor (the Learner interface); the contract every role's
// service keeps is in common/rpc/server.h. Torch-free.
#pragma once

#include <grpcpp/grpcpp.h>

#include "common/actors/roles.h"
#include "common/rpc/mailbox.h"
#include "common/rpc/metrics.h"
#include "common/rpc/server.h"
#include "rto/v1/learner.grpc.pb.h"

namespace rto {

class LearnerService final : public v1::Learner::Service {
 public:
  // `rendezvous_port`: the weight group's store this process hosts (rollout workers join it).
  LearnerService(Learner& actor, int rendezvous_port, ServiceMetrics* metrics, ServiceOptions options);
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
  int rendezvous_port_;
  ServiceMetrics* metrics_;
  Mailbox mailbox_;
};

}  // namespace rto
