// The role interfaces' plain data (common/actors/roles.h) to and from the wire messages of
// proto/rto/v1. Numbers travel as packed little-endian tensors; everything read from the wire is
// validated (dtype, shape, byte count, lengths that agree) and an error names what is wrong.
// Torch-free.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/actors/roles.h"
#include "common/weight_sync/group_options.h"
#include "rto/v1/critic.pb.h"
#include "rto/v1/learner.pb.h"
#include "rto/v1/rollout.pb.h"
#include "rto/v1/scorer.pb.h"
#include "rto/v1/trajectory.pb.h"

namespace rto::wire {

void PackI64(const std::vector<int64_t>& values, v1::Tensor* out);
void PackF32(const std::vector<float>& values, v1::Tensor* out);
// A 1-D tensor of the expected dtype; `what` names it in errors.
absl::StatusOr<std::vector<int64_t>> UnpackI64(const v1::Tensor& t, absl::string_view what);
absl::StatusOr<std::vector<float>> UnpackF32(const v1::Tensor& t, absl::string_view what);

void ToProto(const SamplingParams& params, v1::SamplingParams* out);
SamplingParams FromProto(const v1::SamplingParams& params);

void ToProto(const Trajectory& t, v1::Trajectory* out);
absl::StatusOr<Trajectory> FromProto(const v1::Trajectory& t);
void ToProto(const std::vector<Trajectory>& batch, v1::TrajectoryBatch* out);
absl::StatusOr<std::vector<Trajectory>> FromProto(const v1::TrajectoryBatch& batch);

void ToProto(const TokenValues& values, v1::TokenValues* out);
absl::StatusOr<TokenValues> FromProto(const v1::TokenValues& values, absl::string_view what);

// The role calls' arguments and results. A train step's `step` travels in the experience message.
void ToProto(const RolloutRequest& request, v1::GenerateRequest* out);
absl::StatusOr<RolloutRequest> FromProto(const v1::GenerateRequest& request);

// REQUIRES for ToProto: sync.group is set (the client fills it in from its weight plan).
void ToProto(const WeightSync& sync, v1::SyncWeightsRequest* out);
WeightSync FromProto(const v1::SyncWeightsRequest& request);

// dpo_logratio travels only when it has rows, and is empty when the message has none.
void ToProto(const ScoreResult& result, v1::ScoreResponse* out);
absl::StatusOr<ScoreResult> FromProto(const v1::ScoreResponse& response);

void ToProto(const ValueExperience& experience, int64_t step, v1::ValueExperience* out);
absl::StatusOr<ValueExperience> FromProto(const v1::ValueExperience& experience);

void ToProto(const PolicyEvaluation& evaluation, v1::PolicyEvaluation* out);
absl::StatusOr<PolicyEvaluation> FromProto(const v1::PolicyEvaluation& evaluation);

void ToProto(const PolicyExperience& experience, int64_t step, v1::PolicyExperience* out);
absl::StatusOr<PolicyExperience> FromProto(const v1::PolicyExperience& experience);

WeightGroupOptions FromProto(const v1::WeightGroupSpec& spec);
void ToProto(const WeightGroupOptions& options, v1::WeightGroupSpec* spec);

void ToProto(const Metrics& metrics, v1::Stats* out);
Metrics FromProto(const v1::Stats& stats);

// What a weight transfer moved, as the rollout's and the learner's replies carry it.
void ToProto(const WeightSyncStats& stats, v1::SyncWeightsResponse* out);
void ToProto(const WeightSyncStats& stats, v1::PublishWeightsResponse* out);
WeightSyncStats FromProto(const v1::SyncWeightsResponse& response);
WeightSyncStats FromProto(const v1::PublishWeightsResponse& response);

void ToProto(const WeightsFingerprint& fingerprint, v1::WeightsHashResponse* out);
WeightsFingerprint FromProto(const v1::WeightsHashResponse& response);

}  // namespace rto::wire
