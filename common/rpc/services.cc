#include "common/rpc/services.h"

#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "common/rpc/handler.h"
#include "common/rpc/wire.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

void ObserveMailbox(ServiceMetrics* metrics, const Mailbox& mailbox) {
  if (metrics) metrics->Gauge("mailbox_depth", "work waiting or running in the actor's mailbox").Set(mailbox.depth());
}

// Save / Restore / SavePolicy: `fn(dir)` on the actor thread.
grpc::Status HandleCheckpoint(ServiceMetrics* metrics, Mailbox& mailbox, const char* method,
                              const v1::CheckpointRequest& request,
                              const std::function<absl::Status(const std::string&)>& fn) {
  return Handle(metrics, method, [&]() -> absl::Status {
    if (request.dir().empty()) return absl::InvalidArgumentError("an empty checkpoint directory");
    return mailbox
        .Call<bool>([&]() -> absl::StatusOr<bool> {
          RTO_RETURN_IF_ERROR(fn(request.dir()));
          return true;
        })
        .status();
  });
}

}  // namespace

// --- rollout -----------------------------------------------------------------------------------

RolloutService::RolloutService(Rollout& actor, WeightControl& weights, ServiceMetrics* metrics, ServiceOptions options)
    : actor_(actor), weights_(weights), metrics_(metrics), mailbox_(options.mailbox_capacity) {}

grpc::Status RolloutService::Generate(grpc::ServerContext*, const v1::GenerateRequest* request,
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
                            .Call<bool>([&]() -> absl::StatusOr<bool> {
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

grpc::Status RolloutService::SyncWeights(grpc::ServerContext*, const v1::SyncWeightsRequest* request,
                                         v1::SyncWeightsResponse* response) {
  return Handle(metrics_, "SyncWeights", [&]() -> absl::Status {
    const WeightGroupOptions group = wire::FromProto(request->group());
    if (group.rank < 1 || group.rank >= group.world_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("a rollout worker's rank must be in [1, ", group.world_size, "), not ", group.rank));
    }
    ObserveMailbox(metrics_, mailbox_);
    RTO_ASSIGN_OR_RETURN(int64_t version, mailbox_.Call<int64_t>([&]() -> absl::StatusOr<int64_t> {
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

grpc::Status RolloutService::WeightsHash(grpc::ServerContext*, const v1::WeightsHashRequest*,
                                         v1::WeightsHashResponse* response) {
  return Handle(metrics_, "WeightsHash", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(uint64_t hash, mailbox_.Call<uint64_t>([&]() -> absl::StatusOr<uint64_t> {
      response->set_version(version_);
      return weights_.Hash();
    }));
    response->set_hash(hash);
    return absl::OkStatus();
  });
}

// --- scorer ------------------------------------------------------------------------------------

ScorerService::ScorerService(Scorer& actor, ServiceMetrics* metrics, ServiceOptions options)
    : actor_(actor), metrics_(metrics), mailbox_(options.mailbox_capacity) {}

grpc::Status ScorerService::Score(grpc::ServerContext*, const v1::ScoreRequest* request, v1::ScoreResponse* response) {
  return Handle(metrics_, "Score", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(std::vector<Trajectory> batch, wire::FromProto(request->batch()));
    ObserveMailbox(metrics_, mailbox_);
    RTO_ASSIGN_OR_RETURN(ScoreResult r,
                         mailbox_.Call<ScoreResult>([&] { return actor_.Score(batch, request->with_dpo()); }));
    wire::ToProto(r.ref_logprobs, response->mutable_ref_logprobs());
    if (request->with_dpo()) wire::ToProto(r.dpo_logratio, response->mutable_dpo_logratio());
    wire::PackF32(r.rm_scores, response->mutable_rm_scores());
    return absl::OkStatus();
  });
}

// --- critic ------------------------------------------------------------------------------------

CriticService::CriticService(Critic& actor, ServiceMetrics* metrics, ServiceOptions options)
    : actor_(actor), metrics_(metrics), mailbox_(options.mailbox_capacity) {}

grpc::Status CriticService::Values(grpc::ServerContext*, const v1::TrajectoryBatch* request,
                                   v1::TokenValues* response) {
  return Handle(metrics_, "Values", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(std::vector<Trajectory> batch, wire::FromProto(*request));
    ObserveMailbox(metrics_, mailbox_);
    RTO_ASSIGN_OR_RETURN(TokenValues values, mailbox_.Call<TokenValues>([&] { return actor_.Values(batch); }));
    wire::ToProto(values, response);
    return absl::OkStatus();
  });
}

grpc::Status CriticService::Train(grpc::ServerContext*, const v1::ValueExperience* request, v1::Stats* response) {
  return Handle(metrics_, "Train", [&]() -> absl::Status {
    ValueExperience e;
    RTO_ASSIGN_OR_RETURN(e.trajectories, wire::FromProto(request->batch()));
    RTO_ASSIGN_OR_RETURN(e.old_values, wire::FromProto(request->old_values(), "old_values"));
    RTO_ASSIGN_OR_RETURN(e.returns, wire::FromProto(request->returns(), "returns"));
    ObserveMailbox(metrics_, mailbox_);
    RTO_ASSIGN_OR_RETURN(Metrics m, mailbox_.Call<Metrics>([&] { return actor_.Train(e, request->step()); }));
    wire::ToProto(m, response);
    return absl::OkStatus();
  });
}

grpc::Status CriticService::Save(grpc::ServerContext*, const v1::CheckpointRequest* request, v1::CheckpointResponse*) {
  return HandleCheckpoint(metrics_, mailbox_, "Save", *request,
                          [&](const std::string& dir) { return actor_.Save(dir); });
}

grpc::Status CriticService::Restore(grpc::ServerContext*, const v1::CheckpointRequest* request,
                                    v1::CheckpointResponse*) {
  return HandleCheckpoint(metrics_, mailbox_, "Restore", *request,
                          [&](const std::string& dir) { return actor_.Restore(dir); });
}

// --- learner -----------------------------------------------------------------------------------

LearnerService::LearnerService(Learner& actor, WeightControl& weights, ServiceMetrics* metrics, ServiceOptions options)
    : actor_(actor), weights_(weights), metrics_(metrics), mailbox_(options.mailbox_capacity) {}

grpc::Status LearnerService::Evaluate(grpc::ServerContext*, const v1::TrajectoryBatch* request,
                                      v1::PolicyEvaluation* response) {
  return Handle(metrics_, "Evaluate", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(std::vector<Trajectory> batch, wire::FromProto(*request));
    ObserveMailbox(metrics_, mailbox_);
    RTO_ASSIGN_OR_RETURN(PolicyEvaluation e, mailbox_.Call<PolicyEvaluation>([&] { return actor_.Evaluate(batch); }));
    wire::ToProto(e.logprobs, response->mutable_logprobs());
    wire::ToProto(e.entropy, response->mutable_entropy());
    return absl::OkStatus();
  });
}

grpc::Status LearnerService::Train(grpc::ServerContext*, const v1::PolicyExperience* request, v1::Stats* response) {
  return Handle(metrics_, "Train", [&]() -> absl::Status {
    PolicyExperience e;
    RTO_ASSIGN_OR_RETURN(e.trajectories, wire::FromProto(request->batch()));
    RTO_ASSIGN_OR_RETURN(e.old_logprobs, wire::FromProto(request->old_logprobs(), "old_logprobs"));
    RTO_ASSIGN_OR_RETURN(e.advantages, wire::FromProto(request->advantages(), "advantages"));
    ObserveMailbox(metrics_, mailbox_);
    RTO_ASSIGN_OR_RETURN(Metrics m, mailbox_.Call<Metrics>([&] { return actor_.Train(e, request->step()); }));
    wire::ToProto(m, response);
    if (metrics_) metrics_->Gauge("policy_version", "the learner's update count").Set(actor_.version());
    return absl::OkStatus();
  });
}

grpc::Status LearnerService::PublishWeights(grpc::ServerContext*, const v1::PublishWeightsRequest* request,
                                            v1::PublishWeightsResponse* response) {
  return Handle(metrics_, "PublishWeights", [&]() -> absl::Status {
    WeightGroupOptions group = wire::FromProto(request->group());
    if (group.rank != 0) return absl::InvalidArgumentError("the learner is rank 0 of the weight group");
    group.store_port = weights_.store_port();
    RTO_ASSIGN_OR_RETURN(int64_t version, mailbox_.Call<int64_t>([&] {
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

grpc::Status LearnerService::Status(grpc::ServerContext*, const v1::LearnerStatusRequest*,
                                    v1::LearnerStatusResponse* response) {
  return Handle(metrics_, "Status", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(int64_t version,
                         mailbox_.Call<int64_t>([&]() -> absl::StatusOr<int64_t> { return actor_.version(); }));
    response->set_version(version);
    response->set_store_port(weights_.store_port());
    return absl::OkStatus();
  });
}

grpc::Status LearnerService::Save(grpc::ServerContext*, const v1::CheckpointRequest* request, v1::CheckpointResponse*) {
  return HandleCheckpoint(metrics_, mailbox_, "Save", *request,
                          [&](const std::string& dir) { return actor_.Save(dir); });
}

grpc::Status LearnerService::Restore(grpc::ServerContext*, const v1::CheckpointRequest* request,
                                     v1::CheckpointResponse*) {
  return HandleCheckpoint(metrics_, mailbox_, "Restore", *request,
                          [&](const std::string& dir) { return actor_.Restore(dir); });
}

grpc::Status LearnerService::SavePolicy(grpc::ServerContext*, const v1::CheckpointRequest* request,
                                        v1::CheckpointResponse*) {
  return HandleCheckpoint(metrics_, mailbox_, "SavePolicy", *request,
                          [&](const std::string& dir) { return actor_.SavePolicy(dir); });
}

grpc::Status LearnerService::WeightsHash(grpc::ServerContext*, const v1::WeightsHashRequest*,
                                         v1::WeightsHashResponse* response) {
  return Handle(metrics_, "WeightsHash", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(uint64_t hash, mailbox_.Call<uint64_t>([&]() -> absl::StatusOr<uint64_t> {
      response->set_version(actor_.version());
      return weights_.Hash();
    }));
    response->set_hash(hash);
    return absl::OkStatus();
  });
}

// --- server ------------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<grpc::Server>> StartServer(const std::vector<grpc::Service*>& services,
                                                          const ServerOptions& options, int* bound_port) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(options.host, ":", options.port), grpc::InsecureServerCredentials(),
                           bound_port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  for (grpc::Service* s : services) builder.RegisterService(s);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *bound_port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.host, ":", options.port));
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  return server;
}

}  // namespace rto
