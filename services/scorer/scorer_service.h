// The scorer role's gRPC service over its actor (the Scorer interface); the contract every role's
// service keeps is in common/rpc/server.h. Torch-free.
#pragma once

#include <grpcpp/grpcpp.h>

#include "common/actors/roles.h"
#include "common/rpc/mailbox.h"
#include "common/rpc/metrics.h"
#include "common/rpc/server.h"
#include "rto/v1/scorer.grpc.pb.h"

namespace rto {

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

}  // namespace rto
