#include "common/rpc/clients.h"

#include <algorithm>
#include <future>
#include <iostream>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/rpc/status.h"
#include "common/rpc/wire.h"
#include "common/util/status_macros.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace rto {
namespace {

// Calls fn(context) with a deadline; retries idempotent calls on UNAVAILABLE and
// RESOURCE_EXHAUSTED with exponential backoff and jitter.
template <typename Fn>
absl::Status Call(const ClientOptions& o, bool idempotent, const std::string& what, Fn fn) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  for (int attempt = 0;; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + o.deadline);
    const grpc::Status s = fn(context);
    if (s.ok()) return absl::OkStatus();
    const bool transient =
        s.error_code() == grpc::StatusCode::UNAVAILABLE || s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
    if (!idempotent || !transient || attempt + 1 >= o.attempts) return FromGrpc(s, what);
    const double jitter = std::uniform_real_distribution<double>(0.5, 1.5)(rng);
    std::this_thread::sleep_for(o.backoff * (1 << attempt) * jitter);
  }
}

// Save / Restore / SavePolicy of `dir` through the stub's `method`; idempotent.
template <typename Stub, typename Method>
absl::Status CheckpointCall(const ClientOptions& o, Stub& stub, Method method, const std::string& what,
                            const std::string& dir) {
  v1::CheckpointRequest request;
  request.set_dir(dir);
  v1::CheckpointResponse response;
  return Call(o, true, what, [&](grpc::ClientContext& c) { return (stub.*method)(&c, request, &response); });
}

// [begin, end) of share i when n items are split into `parts` contiguous shares.
std::pair<size_t, size_t> Share(size_t n, size_t parts, size_t i) {
  const size_t base = n / parts, extra = n % parts;
  const size_t begin = i * base + std::min(i, extra);
  return {begin, begin + base + (i < extra ? 1 : 0)};
}

}  // namespace

std::shared_ptr<grpc::Channel> Connect(const std::string& address, const ClientOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  args.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

absl::Status WaitHealthy(const std::shared_ptr<grpc::Channel>& channel, const std::string& name,
                         std::chrono::milliseconds timeout) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  const auto end = std::chrono::steady_clock::now() + timeout;
  grpc::Status last;
  while (std::chrono::steady_clock::now() < end) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    last = stub->Check(&context, request, &response);
    if (last.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat(name, " did not become healthy within ", timeout.count(),
                                                  " ms (last answer: ", last.error_message(), ")"));
}

void WeightPlan::Reform(int world_size) {
  std::lock_guard<std::mutex> lock(mu_);
  base_.world_size = world_size;
  ++base_.generation;
}

void WeightPlan::set_store_port(int port) {
  std::lock_guard<std::mutex> lock(mu_);
  base_.store_port = port;
}

WeightGroupOptions WeightPlan::For(int rank) const {
  std::lock_guard<std::mutex> lock(mu_);
  WeightGroupOptions o = base_;
  o.rank = rank;
  return o;
}

// --- rollout -----------------------------------------------------------------------------------

RemoteRollout::RemoteRollout(std::shared_ptr<grpc::Channel> channel, ClientOptions options,
                             std::shared_ptr<WeightPlan> plan, int rank)
    : stub_(v1::Rollout::NewStub(channel)), options_(options), plan_(std::move(plan)), rank_(rank) {}

absl::StatusOr<std::vector<Trajectory>> RemoteRollout::Generate(const RolloutRequest& r) {
  v1::GenerateRequest request;
  for (const RolloutRequest::Prompt& p : r.prompts) {
    v1::Prompt* out = request.add_prompts();
    out->set_prompt_id(p.prompt_id);
    wire::PackI64(p.tokens, out->mutable_tokens());
  }
  request.set_samples_per_prompt(r.samples_per_prompt);
  wire::ToProto(r.sampling, request.mutable_sampling());
  request.set_step(r.step);
  request.set_first_trajectory_id(r.first_trajectory_id);
  std::vector<Trajectory> out;
  RTO_RETURN_IF_ERROR(Call(options_, true, "rollout Generate", [&](grpc::ClientContext& context) {
    out.clear();
    auto reader = stub_->Generate(&context, request);
    v1::GenerateResponse chunk;
    while (reader->Read(&chunk)) {
      for (const v1::Trajectory& t : chunk.trajectories()) {
        absl::StatusOr<Trajectory> one = wire::FromProto(t);
        if (!one.ok()) {
          context.TryCancel();
          return grpc::Status(grpc::StatusCode::INTERNAL, std::string(one.status().message()));
        }
        out.push_back(std::move(*one));
      }
    }
    return reader->Finish();
  }));
  // They arrive in finishing order; the interface returns request order (ids were assigned in it).
  std::sort(out.begin(), out.end(), [](const Trajectory& a, const Trajectory& b) { return a.id < b.id; });
  return out;
}

absl::Status RemoteRollout::SyncWeights(int64_t version) {
  v1::SyncWeightsRequest request;
  request.set_version(version);
  wire::ToProto(plan_->For(rank_), request.mutable_group());
  v1::SyncWeightsResponse response;
  return Call(options_, false, absl::StrCat("rollout rank ", rank_, " SyncWeights"),
              [&](grpc::ClientContext& c) { return stub_->SyncWeights(&c, request, &response); });
}

absl::StatusOr<v1::WeightsHashResponse> RemoteRollout::WeightsHash() {
  v1::WeightsHashResponse response;
  RTO_RETURN_IF_ERROR(Call(options_, true, "rollout WeightsHash", [&](grpc::ClientContext& c) {
    return stub_->WeightsHash(&c, v1::WeightsHashRequest(), &response);
  }));
  return response;
}

absl::StatusOr<std::vector<Trajectory>> RolloutPool::Generate(const RolloutRequest& request) {
  const size_t parts = std::min(workers_.size(), request.prompts.size());
  if (parts == 0) return absl::InvalidArgumentError("a rollout request with no prompts, or no workers");
  std::vector<std::future<absl::StatusOr<std::vector<Trajectory>>>> shares;
  for (size_t i = 0; i < parts; ++i) {
    auto [begin, end] = Share(request.prompts.size(), parts, i);
    RolloutRequest share = request;
    share.prompts.assign(request.prompts.begin() + begin, request.prompts.begin() + end);
    share.first_trajectory_id = request.first_trajectory_id + begin * request.samples_per_prompt;
    shares.push_back(std::async(std::launch::async, [this, i, share] { return workers_[i]->Generate(share); }));
  }
  std::vector<Trajectory> out;
  absl::Status first_error;
  for (auto& f : shares) {
    absl::StatusOr<std::vector<Trajectory>> part = f.get();
    if (!part.ok()) {
      if (first_error.ok()) first_error = part.status();
      continue;
    }
    for (Trajectory& t : *part) out.push_back(std::move(t));
  }
  if (!first_error.ok()) return first_error;
  return out;
}

absl::Status RolloutPool::SyncWeights(int64_t version) {
  std::vector<std::future<absl::Status>> syncs;
  for (auto& w : workers_) {
    syncs.push_back(std::async(std::launch::async, [&w, version] { return w->SyncWeights(version); }));
  }
  absl::Status first_error;
  for (auto& f : syncs) {
    absl::Status s = f.get();
    if (first_error.ok()) first_error = s;
  }
  return first_error;
}

// --- scorer ------------------------------------------------------------------------------------

RemoteScorer::RemoteScorer(std::shared_ptr<grpc::Channel> channel, ClientOptions options)
    : stub_(v1::Scorer::NewStub(channel)), options_(options) {}

absl::StatusOr<ScoreResult> RemoteScorer::Score(const std::vector<Trajectory>& trajectories, bool with_dpo) {
  v1::ScoreRequest request;
  wire::ToProto(trajectories, request.mutable_batch());
  request.set_with_dpo(with_dpo);
  v1::ScoreResponse response;
  RTO_RETURN_IF_ERROR(Call(options_, true, "scorer Score",
                           [&](grpc::ClientContext& c) { return stub_->Score(&c, request, &response); }));
  ScoreResult out;
  RTO_ASSIGN_OR_RETURN(out.ref_logprobs, wire::FromProto(response.ref_logprobs(), "ref_logprobs"));
  if (with_dpo) {
    RTO_ASSIGN_OR_RETURN(out.dpo_logratio, wire::FromProto(response.dpo_logratio(), "dpo_logratio"));
  }
  RTO_ASSIGN_OR_RETURN(out.rm_scores, wire::UnpackF32(response.rm_scores(), "rm_scores"));
  return out;
}

absl::StatusOr<ScoreResult> ScorerPool::Score(const std::vector<Trajectory>& trajectories, bool with_dpo) {
  const size_t parts = std::min(replicas_.size(), trajectories.size());
  if (parts == 0) return absl::InvalidArgumentError("an empty batch of trajectories, or no scorers");
  std::vector<std::future<absl::StatusOr<ScoreResult>>> shares;
  for (size_t i = 0; i < parts; ++i) {
    auto [begin, end] = Share(trajectories.size(), parts, i);
    std::vector<Trajectory> share(trajectories.begin() + begin, trajectories.begin() + end);
    shares.push_back(std::async(std::launch::async, [this, i, share = std::move(share), with_dpo] {
      return replicas_[i]->Score(share, with_dpo);
    }));
  }
  ScoreResult out;
  absl::Status first_error;
  for (auto& f : shares) {
    absl::StatusOr<ScoreResult> part = f.get();
    if (!part.ok()) {
      if (first_error.ok()) first_error = part.status();
      continue;
    }
    for (auto& v : part->ref_logprobs) out.ref_logprobs.push_back(std::move(v));
    for (auto& v : part->dpo_logratio) out.dpo_logratio.push_back(std::move(v));
    out.rm_scores.insert(out.rm_scores.end(), part->rm_scores.begin(), part->rm_scores.end());
  }
  if (!first_error.ok()) return first_error;
  return out;
}

// --- critic ------------------------------------------------------------------------------------

RemoteCritic::RemoteCritic(std::shared_ptr<grpc::Channel> channel, ClientOptions options)
    : stub_(v1::Critic::NewStub(channel)), options_(options) {}

absl::StatusOr<TokenValues> RemoteCritic::Values(const std::vector<Trajectory>& trajectories) {
  v1::TrajectoryBatch request;
  wire::ToProto(trajectories, &request);
  v1::TokenValues response;
  RTO_RETURN_IF_ERROR(Call(options_, true, "critic Values",
                           [&](grpc::ClientContext& c) { return stub_->Values(&c, request, &response); }));
  return wire::FromProto(response, "values");
}

absl::StatusOr<Metrics> RemoteCritic::Train(const ValueExperience& e, int64_t step) {
  v1::ValueExperience request;
  wire::ToProto(e.trajectories, request.mutable_batch());
  wire::ToProto(e.old_values, request.mutable_old_values());
  wire::ToProto(e.returns, request.mutable_returns());
  request.set_step(step);
  v1::Stats response;
  RTO_RETURN_IF_ERROR(Call(options_, false, "critic Train",
                           [&](grpc::ClientContext& c) { return stub_->Train(&c, request, &response); }));
  return wire::FromProto(response);
}

absl::Status RemoteCritic::Save(const std::string& dir) {
  return CheckpointCall(options_, *stub_, &v1::Critic::Stub::Save, "critic Save", dir);
}

absl::Status RemoteCritic::Restore(const std::string& dir) {
  return CheckpointCall(options_, *stub_, &v1::Critic::Stub::Restore, "critic Restore", dir);
}

// --- learner -----------------------------------------------------------------------------------

RemoteLearner::RemoteLearner(std::shared_ptr<grpc::Channel> channel, ClientOptions options,
                             std::shared_ptr<WeightPlan> plan)
    : stub_(v1::Learner::NewStub(channel)), options_(options), plan_(std::move(plan)) {}

absl::StatusOr<std::unique_ptr<RemoteLearner>> RemoteLearner::Create(std::shared_ptr<grpc::Channel> channel,
                                                                     ClientOptions options,
                                                                     std::shared_ptr<WeightPlan> plan) {
  std::unique_ptr<RemoteLearner> l(new RemoteLearner(std::move(channel), options, std::move(plan)));
  RTO_RETURN_IF_ERROR(l->RefreshStatus());
  return l;
}

absl::Status RemoteLearner::RefreshStatus() {
  v1::LearnerStatusResponse response;
  RTO_RETURN_IF_ERROR(Call(options_, true, "learner Status", [&](grpc::ClientContext& c) {
    return stub_->Status(&c, v1::LearnerStatusRequest(), &response);
  }));
  version_ = response.version();
  store_port_ = response.store_port();
  return absl::OkStatus();
}

absl::StatusOr<PolicyEvaluation> RemoteLearner::Evaluate(const std::vector<Trajectory>& trajectories) {
  v1::TrajectoryBatch request;
  wire::ToProto(trajectories, &request);
  v1::PolicyEvaluation response;
  RTO_RETURN_IF_ERROR(Call(options_, true, "learner Evaluate",
                           [&](grpc::ClientContext& c) { return stub_->Evaluate(&c, request, &response); }));
  PolicyEvaluation out;
  RTO_ASSIGN_OR_RETURN(out.logprobs, wire::FromProto(response.logprobs(), "logprobs"));
  RTO_ASSIGN_OR_RETURN(out.entropy, wire::FromProto(response.entropy(), "entropy"));
  return out;
}

absl::StatusOr<Metrics> RemoteLearner::Train(const PolicyExperience& e, int64_t step) {
  v1::PolicyExperience request;
  wire::ToProto(e.trajectories, request.mutable_batch());
  wire::ToProto(e.old_logprobs, request.mutable_old_logprobs());
  wire::ToProto(e.advantages, request.mutable_advantages());
  request.set_step(step);
  v1::Stats response;
  RTO_RETURN_IF_ERROR(Call(options_, false, "learner Train",
                           [&](grpc::ClientContext& c) { return stub_->Train(&c, request, &response); }));
  RTO_RETURN_IF_ERROR(RefreshStatus());
  return wire::FromProto(response);
}

absl::StatusOr<int64_t> RemoteLearner::PublishWeights() {
  v1::PublishWeightsRequest request;
  wire::ToProto(plan_->For(0), request.mutable_group());
  v1::PublishWeightsResponse response;
  RTO_RETURN_IF_ERROR(Call(options_, false, "learner PublishWeights",
                           [&](grpc::ClientContext& c) { return stub_->PublishWeights(&c, request, &response); }));
  if (response.transport() != weight_transport_) {
    std::cerr << "coordinator: weights go to the rollout workers through " << response.transport() << "\n";
    weight_transport_ = response.transport();
  }
  return response.version();
}

absl::Status RemoteLearner::Save(const std::string& dir) {
  return CheckpointCall(options_, *stub_, &v1::Learner::Stub::Save, "learner Save", dir);
}

absl::Status RemoteLearner::Restore(const std::string& dir) {
  RTO_RETURN_IF_ERROR(CheckpointCall(options_, *stub_, &v1::Learner::Stub::Restore, "learner Restore", dir));
  return RefreshStatus();
}

absl::Status RemoteLearner::SavePolicy(const std::string& dir) {
  return CheckpointCall(options_, *stub_, &v1::Learner::Stub::SavePolicy, "learner SavePolicy", dir);
}

absl::StatusOr<v1::WeightsHashResponse> RemoteLearner::WeightsHash() {
  v1::WeightsHashResponse response;
  RTO_RETURN_IF_ERROR(Call(options_, true, "learner WeightsHash", [&](grpc::ClientContext& c) {
    return stub_->WeightsHash(&c, v1::WeightsHashRequest(), &response);
  }));
  return response;
}

}  // namespace rto
