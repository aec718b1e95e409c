#include "services/rollout/rollout_service.h"

#include "absl/strings/str_cat.h"
#include "common/rpc/handler.h"
#include "common/rpc/wire.h"
#include "common/util/status_macros.h"

namespace rto {

RolloutService::RolloutService(Rollout& actor, WeightControl& weights, ServiceMetrics* metrics, ServiceOptions options)
    : actor_(actor), weights_(weights), metrics_(metrics), mailbox_(options.mailbox_capacity) {}

grpc::Status RolloutService::Generate(grpc::ServerContext* context, const v1::GenerateRequest* request,
                                      grpc::ServerWriter<v1::GenerateResponse>* writer) {
  return Handle(metrics_, "Generate", [&]() -> absl::Status {
    RolloutRequest r;
    for (const v1::Prompt& p : request->prompts()) {
      RTO_ASSIGN_OR_RETURN(std::vector<int64_t> tokens,
                           wire::UnpackI64(p.tokens(), absl::StrCat("prompt ", p.prompt_id())));
      r.prompts.push_back({p.prompt_id(), std::move(tokens)});
    }
    r.samples_per_prompt = request->samples_per_prompt();
    r.sampling = wire::FromProto(request->sampling());
    r.step = request->step();
    r.first_trajectory_id = request->first_trajectory_id();
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
    if (metrics_) metrics_->Counter("generated_tokens_total", "response tokens generated").Increment(tokens);
    return absl::OkStatus();
  });
}

grpc::Status RolloutService::SyncWeights(grpc::ServerContext* context, const v1::SyncWeightsRequest* request,
                                         v1::SyncWeightsResponse* response) {
  return Handle(metrics_, "SyncWeights", [&]() -> absl::Status {
    const WeightGroupOptions group = wire::FromProto(request->group());
    if (group.rank < 1 || group.rank >= group.world_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("a rollout worker's rank must be in [1, ", group.world_size, "), not ", group.rank));
    }
    ObserveMailbox(metrics_, mailbox_);
    RTO_ASSIGN_OR_RETURN(int64_t version, mailbox_.Call<int64_t>(context->deadline(), [&]() -> absl::StatusOr<int64_t> {
      weights_.SetGroup(group);
      RTO_RETURN_IF_ERROR(actor_.SyncWeights(request->version()));
      version_ = request->version();
      return version_;
    }));
    response->set_version(version);
    response->set_bytes(weights_.last_bytes());
    response->set_seconds(weights_.last_seconds());
    response->set_transport(weights_.last_transport());
    if (metrics_) {
      metrics_->Histogram("weight_sync_seconds", "time to receive a weight broadcast").Observe(weights_.last_seconds());
      metrics_->Gauge("weight_sync_shared_memory", "1 when the last weight sync went through shared memory")
          .Set(weights_.last_transport() == "shm" ? 1 : 0);
      metrics_->Counter("weight_sync_bytes_total", "weight bytes received").Increment(weights_.last_bytes());
      metrics_->Gauge("policy_version", "version of the weights generating now").Set(version);
    }
    return absl::OkStatus();
  });
}

grpc::Status RolloutService::WeightsHash(grpc::ServerContext* context, const v1::WeightsHashRequest*,
                                         v1::WeightsHashResponse* response) {
  return Handle(metrics_, "WeightsHash", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(uint64_t hash, mailbox_.Call<uint64_t>(context->deadline(), [&]() -> absl::StatusOr<uint64_t> {
      response->set_version(version_);
      return weights_.Hash();
    }));
    response->set_hash(hash);
    return absl::OkStatus();
  });
}

}  // namespace rto
