#include "services/scorer/scorer_service.h"

#include "absl/strings/str_cat.h"
#include "common/rpc/handler.h"
#include "common/rpc/wire.h"
#include "common/util/status_macros.h"

namespace rto {

ScorerService::ScorerService(Scorer& actor, ServiceMetrics* metrics, ServiceOptions options)
    : actor_(actor), metrics_(metrics), mailbox_(options.mailbox_capacity) {}

grpc::Status ScorerService::Score(grpc::ServerContext* context, const v1::ScoreRequest* request,
                                  v1::ScoreResponse* response) {
  return Handle(metrics_, "Score", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(std::vector<Trajectory> batch, wire::FromProto(request->batch()));
    ObserveMailbox(metrics_, mailbox_);
    RTO_ASSIGN_OR_RETURN(ScoreResult r, mailbox_.Call<ScoreResult>(context->deadline(), [&] {
      return actor_.Score(batch, request->with_dpo());
    }));
    wire::ToProto(r, response);
    return absl::OkStatus();
  });
}

}  // namespace rto
