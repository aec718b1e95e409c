#include "common/rpc/wire.h"

#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/util/status_macros.h"

namespace rto::wire {
namespace {

static_assert(std::endian::native == std::endian::little, "the wire format is little-endian, as this host");

template <typename T>
void Pack(const std::vector<T>& values, v1::DType dtype, v1::Tensor* out) {
  out->set_dtype(dtype);
  out->clear_shape();
  out->add_shape(static_cast<int64_t>(values.size()));
  out->set_data(values.data(), values.size() * sizeof(T));
}

template <typename T>
absl::StatusOr<std::vector<T>> Unpack(const v1::Tensor& t, v1::DType dtype, absl::string_view what) {
  if (t.dtype() != dtype) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": dtype ", v1::DType_Name(t.dtype()), ", expected ", v1::DType_Name(dtype)));
  }
  if (t.shape_size() != 1 || t.shape(0) < 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": expected a 1-D tensor"));
  }
  const uint64_t n = static_cast<uint64_t>(t.shape(0));
  if (t.data().size() != n * sizeof(T)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", t.data().size(), " bytes for ", n, " elements of ", sizeof(T), " bytes"));
  }
  std::vector<T> out(n);
  if (n > 0) std::memcpy(out.data(), t.data().data(), t.data().size());
  return out;
}

}  // namespace

void PackI64(const std::vector<int64_t>& values, v1::Tensor* out) { Pack(values, v1::DTYPE_I64, out); }
void PackF32(const std::vector<float>& values, v1::Tensor* out) { Pack(values, v1::DTYPE_F32, out); }
absl::StatusOr<std::vector<int64_t>> UnpackI64(const v1::Tensor& t, absl::string_view what) {
  return Unpack<int64_t>(t, v1::DTYPE_I64, what);
}
absl::StatusOr<std::vector<float>> UnpackF32(const v1::Tensor& t, absl::string_view what) {
  return Unpack<float>(t, v1::DTYPE_F32, what);
}

void ToProto(const SamplingParams& p, v1::SamplingParams* out) {
  out->set_temperature(p.temperature);
  out->set_top_k(p.top_k);
  out->set_top_p(p.top_p);
  out->set_max_new_tokens(p.max_new_tokens);
  out->mutable_stop_token_ids()->Assign(p.stop_token_ids.begin(), p.stop_token_ids.end());
  out->set_seed(p.seed);
}

SamplingParams FromProto(const v1::SamplingParams& p) {
  return {.temperature = p.temperature(),
          .top_k = p.top_k(),
          .top_p = p.top_p(),
          .max_new_tokens = p.max_new_tokens(),
          .stop_token_ids = {p.stop_token_ids().begin(), p.stop_token_ids().end()},
          .seed = p.seed()};
}

void ToProto(const Trajectory& t, v1::Trajectory* out) {
  out->set_id(t.id);
  out->set_prompt_id(t.prompt_id);
  out->set_sample_index(t.sample_index);
  out->set_policy_version(t.policy_version);
  PackI64(t.prompt, out->mutable_prompt());
  PackI64(t.response, out->mutable_response());
  PackF32(t.logprobs, out->mutable_logprobs());
  out->set_stopped(t.stopped);
}

absl::StatusOr<Trajectory> FromProto(const v1::Trajectory& t) {
  Trajectory out;
  out.id = t.id();
  out.prompt_id = t.prompt_id();
  out.sample_index = t.sample_index();
  out.policy_version = t.policy_version();
  out.stopped = t.stopped();
  const std::string where = absl::StrCat("trajectory ", t.id());
  RTO_ASSIGN_OR_RETURN(out.prompt, UnpackI64(t.prompt(), where + " prompt"));
  RTO_ASSIGN_OR_RETURN(out.response, UnpackI64(t.response(), where + " response"));
  RTO_ASSIGN_OR_RETURN(out.logprobs, UnpackF32(t.logprobs(), where + " logprobs"));
  if (!out.logprobs.empty() && out.logprobs.size() != out.response.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", out.logprobs.size(), " log-probs for ", out.response.size(), " response tokens"));
  }
  return out;
}

void ToProto(const std::vector<Trajectory>& batch, v1::TrajectoryBatch* out) {
  out->clear_trajectories();
  for (const Trajectory& t : batch) ToProto(t, out->add_trajectories());
}

absl::StatusOr<std::vector<Trajectory>> FromProto(const v1::TrajectoryBatch& batch) {
  std::vector<Trajectory> out;
  out.reserve(batch.trajectories_size());
  for (const v1::Trajectory& t : batch.trajectories()) {
    RTO_ASSIGN_OR_RETURN(Trajectory one, FromProto(t));
    out.push_back(std::move(one));
  }
  return out;
}

void ToProto(const TokenValues& values, v1::TokenValues* out) {
  std::vector<float> flat;
  out->clear_lengths();
  for (const std::vector<float>& row : values) {
    flat.insert(flat.end(), row.begin(), row.end());
    out->add_lengths(static_cast<int64_t>(row.size()));
  }
  PackF32(flat, out->mutable_values());
}

absl::StatusOr<TokenValues> FromProto(const v1::TokenValues& values, absl::string_view what) {
  RTO_ASSIGN_OR_RETURN(std::vector<float> flat, UnpackF32(values.values(), what));
  TokenValues out;
  uint64_t offset = 0;
  for (int64_t length : values.lengths()) {
    if (length < 0 || offset + static_cast<uint64_t>(length) > flat.size()) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": row lengths exceed the ", flat.size(), " values"));
    }
    out.emplace_back(flat.begin() + offset, flat.begin() + offset + length);
    offset += length;
  }
  if (offset != flat.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": row lengths sum to ", offset, " but there are ", flat.size(), " values"));
  }
  return out;
}

void ToProto(const RolloutRequest& r, v1::GenerateRequest* out) {
  out->clear_prompts();
  for (const RolloutRequest::Prompt& p : r.prompts) {
    v1::Prompt* prompt = out->add_prompts();
    prompt->set_prompt_id(p.prompt_id);
    PackI64(p.tokens, prompt->mutable_tokens());
  }
  out->set_samples_per_prompt(r.samples_per_prompt);
  ToProto(r.sampling, out->mutable_sampling());
  out->set_step(r.step);
  out->set_first_trajectory_id(r.first_trajectory_id);
}

absl::StatusOr<RolloutRequest> FromProto(const v1::GenerateRequest& request) {
  RolloutRequest out;
  for (const v1::Prompt& p : request.prompts()) {
    RTO_ASSIGN_OR_RETURN(std::vector<int64_t> tokens, UnpackI64(p.tokens(), absl::StrCat("prompt ", p.prompt_id())));
    out.prompts.push_back({p.prompt_id(), std::move(tokens)});
  }
  out.samples_per_prompt = request.samples_per_prompt();
  out.sampling = FromProto(request.sampling());
  out.step = request.step();
  out.first_trajectory_id = request.first_trajectory_id();
  return out;
}

void ToProto(const WeightSync& sync, v1::SyncWeightsRequest* out) {
  out->set_version(sync.version);
  ToProto(*sync.group, out->mutable_group());
}

WeightSync FromProto(const v1::SyncWeightsRequest& request) { return {request.version(), FromProto(request.group())}; }

void ToProto(const ScoreResult& r, v1::ScoreResponse* out) {
  ToProto(r.ref_logprobs, out->mutable_ref_logprobs());
  if (!r.dpo_logratio.empty()) ToProto(r.dpo_logratio, out->mutable_dpo_logratio());
  PackF32(r.rm_scores, out->mutable_rm_scores());
}

absl::StatusOr<ScoreResult> FromProto(const v1::ScoreResponse& response) {
  ScoreResult out;
  RTO_ASSIGN_OR_RETURN(out.ref_logprobs, FromProto(response.ref_logprobs(), "ref_logprobs"));
  if (response.has_dpo_logratio()) {
    RTO_ASSIGN_OR_RETURN(out.dpo_logratio, FromProto(response.dpo_logratio(), "dpo_logratio"));
  }
  RTO_ASSIGN_OR_RETURN(out.rm_scores, UnpackF32(response.rm_scores(), "rm_scores"));
  return out;
}

void ToProto(const ValueExperience& e, int64_t step, v1::ValueExperience* out) {
  ToProto(e.trajectories, out->mutable_batch());
  ToProto(e.old_values, out->mutable_old_values());
  ToProto(e.returns, out->mutable_returns());
  out->set_step(step);
}

absl::StatusOr<ValueExperience> FromProto(const v1::ValueExperience& e) {
  ValueExperience out;
  RTO_ASSIGN_OR_RETURN(out.trajectories, FromProto(e.batch()));
  RTO_ASSIGN_OR_RETURN(out.old_values, FromProto(e.old_values(), "old_values"));
  RTO_ASSIGN_OR_RETURN(out.returns, FromProto(e.returns(), "returns"));
  return out;
}

void ToProto(const PolicyEvaluation& e, v1::PolicyEvaluation* out) {
  ToProto(e.logprobs, out->mutable_logprobs());
  ToProto(e.entropy, out->mutable_entropy());
}

absl::StatusOr<PolicyEvaluation> FromProto(const v1::PolicyEvaluation& e) {
  PolicyEvaluation out;
  RTO_ASSIGN_OR_RETURN(out.logprobs, FromProto(e.logprobs(), "logprobs"));
  RTO_ASSIGN_OR_RETURN(out.entropy, FromProto(e.entropy(), "entropy"));
  return out;
}

void ToProto(const PolicyExperience& e, int64_t step, v1::PolicyExperience* out) {
  ToProto(e.trajectories, out->mutable_batch());
  ToProto(e.old_logprobs, out->mutable_old_logprobs());
  ToProto(e.advantages, out->mutable_advantages());
  out->set_step(step);
}

absl::StatusOr<PolicyExperience> FromProto(const v1::PolicyExperience& e) {
  PolicyExperience out;
  RTO_ASSIGN_OR_RETURN(out.trajectories, FromProto(e.batch()));
  RTO_ASSIGN_OR_RETURN(out.old_logprobs, FromProto(e.old_logprobs(), "old_logprobs"));
  RTO_ASSIGN_OR_RETURN(out.advantages, FromProto(e.advantages(), "advantages"));
  return out;
}

void ToProto(const Metrics& metrics, v1::Stats* out) {
  out->mutable_values()->clear();
  for (const auto& [k, v] : metrics) (*out->mutable_values())[k] = v;
}

Metrics FromProto(const v1::Stats& stats) { return {stats.values().begin(), stats.values().end()}; }

WeightGroupOptions FromProto(const v1::WeightGroupSpec& s) {
  WeightGroupOptions o;
  o.store_host = s.store_host();
  o.store_port = s.store_port();
  o.generation = s.generation();
  o.rank = s.rank();
  o.world_size = s.world_size();
  if (s.timeout_ms() > 0) o.timeout = std::chrono::milliseconds(s.timeout_ms());
  if (s.bucket_bytes() > 0) o.bucket_bytes = s.bucket_bytes();
  o.shared_memory = !s.no_shared_memory();
  o.secret = s.secret();
  return o;
}

void ToProto(const WeightGroupOptions& o, v1::WeightGroupSpec* s) {
  s->set_store_host(o.store_host);
  s->set_store_port(o.store_port);
  s->set_generation(o.generation);
  s->set_rank(o.rank);
  s->set_world_size(o.world_size);
  s->set_timeout_ms(o.timeout.count());
  s->set_bucket_bytes(o.bucket_bytes);
  s->set_no_shared_memory(!o.shared_memory);
  s->set_secret(o.secret);
}

namespace {

template <typename Response>
void StatsToProto(const WeightSyncStats& s, Response* out) {
  out->set_version(s.version);
  out->set_bytes(s.bytes);
  out->set_seconds(s.seconds);
  out->set_transport(s.transport);
}

template <typename Response>
WeightSyncStats StatsFromProto(const Response& r) {
  return {r.version(), r.bytes(), r.seconds(), r.transport()};
}

}  // namespace

void ToProto(const WeightSyncStats& stats, v1::SyncWeightsResponse* out) { StatsToProto(stats, out); }
void ToProto(const WeightSyncStats& stats, v1::PublishWeightsResponse* out) { StatsToProto(stats, out); }
WeightSyncStats FromProto(const v1::SyncWeightsResponse& response) { return StatsFromProto(response); }
WeightSyncStats FromProto(const v1::PublishWeightsResponse& response) { return StatsFromProto(response); }

void ToProto(const WeightsFingerprint& fingerprint, v1::WeightsHashResponse* out) {
  out->set_version(fingerprint.version);
  out->set_hash(fingerprint.hash);
}

WeightsFingerprint FromProto(const v1::WeightsHashResponse& response) { return {response.version(), response.hash()}; }

}  // namespace rto::wire
