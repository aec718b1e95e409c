#include "tests/testing/fake_roles.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace rto::testing {
namespace {

TokenValues PerToken(const std::vector<Trajectory>& trajectories, float value) {
  TokenValues out;
  for (const Trajectory& t : trajectories) out.emplace_back(t.response.size(), value);
  return out;
}

absl::Status WriteNumber(const std::string& dir, const std::string& name, int64_t value) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/" + name) << value;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ReadNumber(const std::string& dir, const std::string& name) {
  std::ifstream in(dir + "/" + name);
  int64_t value = 0;
  if (!(in >> value)) return absl::NotFoundError(absl::StrCat(dir, "/", name, " is missing"));
  return value;
}

}  // namespace

void CallLog::Add(std::string event) {
  std::lock_guard<std::mutex> lock(mu_);
  events_.push_back(std::move(event));
}

std::vector<std::string> CallLog::events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

absl::StatusOr<std::vector<Trajectory>> FakeRollout::Generate(const RolloutRequest& request) {
  requests_.push_back(request);
  log_->Add(absl::StrCat("generate step=", request.step, " version=", version_));
  if (failures_ > 0) {
    --failures_;
    return absl::Status(failure_code_, "the fake rollout worker is gone");
  }
  std::vector<Trajectory> out;
  uint64_t id = request.first_trajectory_id;
  for (const RolloutRequest::Prompt& p : request.prompts) {
    for (int64_t s = 0; s < request.samples_per_prompt; ++s) {
      Trajectory t;
      t.id = id++;
      t.prompt_id = p.prompt_id;
      t.sample_index = s;
      t.policy_version = stamp_.value_or(version_);
      t.prompt = p.tokens;
      t.response = {p.prompt_id % 5 + 1 + s, 9};
      t.logprobs = {-1.0f, -1.0f};
      t.stopped = true;
      out.push_back(std::move(t));
    }
  }
  return out;
}

absl::StatusOr<WeightSyncStats> FakeRollout::SyncWeights(const WeightSync& sync) {
  log_->Add(absl::StrCat("sync ", sync.version));
  version_ = sync.version;
  return WeightSyncStats{.version = sync.version, .transport = "fake"};
}

void FakeRollout::FailNextGenerates(int n, absl::StatusCode code) {
  failures_ = n;
  failure_code_ = code;
}

absl::StatusOr<ScoreResult> FakeScorer::Score(const std::vector<Trajectory>& trajectories, bool with_dpo) {
  ScoreResult r;
  r.ref_logprobs = PerToken(trajectories, -1.0f);
  if (with_dpo) r.dpo_logratio = PerToken(trajectories, 0.1f);
  for (const Trajectory& t : trajectories) r.rm_scores.push_back(static_cast<float>(t.response[0]));
  return r;
}

absl::StatusOr<TokenValues> FakeCritic::Values(const std::vector<Trajectory>& trajectories) {
  return PerToken(trajectories, 0.5f);
}

absl::StatusOr<Metrics> FakeCritic::Train(const ValueExperience& experience, int64_t step) {
  log_->Add(absl::StrCat("critic train step=", step));
  ++trained_;
  return Metrics{{"critic/value_loss", 0.25}};
}

absl::Status FakeCritic::Save(const std::string& dir) { return WriteNumber(dir, "trained", trained_); }

absl::Status FakeCritic::Restore(const std::string& dir) {
  absl::StatusOr<int64_t> n = ReadNumber(dir, "trained");
  if (!n.ok()) return n.status();
  trained_ = *n;
  return absl::OkStatus();
}

absl::StatusOr<PolicyEvaluation> FakeLearner::LogProbs(const std::vector<Trajectory>& trajectories) {
  return PolicyEvaluation{PerToken(trajectories, -1.0f), PerToken(trajectories, 0.5f)};
}

absl::StatusOr<Metrics> FakeLearner::Train(const PolicyExperience& experience, int64_t step) {
  log_->Add(absl::StrCat("train step=", step));
  ++version_;
  return Metrics{{"policy/loss", 0.5}};
}

absl::StatusOr<WeightSyncStats> FakeLearner::PublishWeights(const std::optional<WeightGroupOptions>&) {
  log_->Add(absl::StrCat("publish ", version_));
  return WeightSyncStats{.version = version_, .transport = "fake"};
}

absl::Status FakeLearner::Save(const std::string& dir) { return WriteNumber(dir, "version", version_); }

absl::Status FakeLearner::Restore(const std::string& dir) {
  absl::StatusOr<int64_t> v = ReadNumber(dir, "version");
  if (!v.ok()) return v.status();
  version_ = *v;
  return absl::OkStatus();
}

absl::Status FakeLearner::SavePolicy(const std::string& dir) { return WriteNumber(dir, "version", version_); }

}  // namespace rto::testing
