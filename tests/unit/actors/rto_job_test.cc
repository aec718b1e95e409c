// The RL loop end to end in one process: rollout/learner log-prob agreement, policy versions,
// a short RTO run that raises the reward model's score, exact resume, the critic-free
// estimators, and bad input at the actors' boundaries.
#include "services/coordinator/in_process_run.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/synchronization/mutex.h"
#include "common/actors/trajectory_batch.h"
#include "common/data/batching.h"
#include "common/data/dataset.h"
#include "common/model/checkpoint.h"
#include "common/train/model_state.h"
#include "common/util/file.h"
#include "nlohmann/json.hpp"
#include "services/scorer/scorer_actor.h"
#include "tests/testing/synth_world.h"
#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;
using testing::TempDir;
namespace fs = std::filesystem;
using nlohmann::json;

// A synthetic world (task + tiny policy), plus a "DPO" model (the policy with other random
// weights) and a reward model (the policy's backbone under a random score head).
class RtoJobTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    testing::MakeSynthWorld(tmp_->path());
    auto dpo = LoadModel(Join("init"));
    ASSERT_THAT(dpo, IsOk());
    (*dpo)->InitRandom(7);
    ASSERT_THAT(SaveModelWithTokenizer(**dpo, Join("dpo"), Join("init")), IsOk());
    auto rm = LoadModel(Join("init"), {.head = HeadKind::kScore, .init_missing_score_seed = 3});
    ASSERT_THAT(rm, IsOk());
    {
      // A score head large enough that the reward is worth chasing within a few steps.
      c10::NoGradGuard no_grad;
      const_cast<at::Tensor*>((*rm)->FindParameter("score.weight"))->mul_(100);
    }
    ASSERT_THAT(SaveModelWithTokenizer(**rm, Join("rm"), Join("init")), IsOk());
    ASSERT_THAT(WriteFileAtomically(Join("rm/reward_normalization.json"), R"({"mean": 0.5, "std": 2.0})"), IsOk());
  }
  static void TearDownTestSuite() { delete tmp_; }
  static std::string Join(const std::string& p) { return tmp_->Join(p); }

  // A config with the given overrides ("key=value").
  RtoJobConfig Config(const std::string& out, std::vector<std::string> overrides = {}) {
    std::string yaml = "models:\n  policy: " + Join("init") + "\n  dpo: " + Join("dpo") + "\n  reward: " + Join("rm") +
                       "\nprompts: " + Join("task/rl_prompts.jsonl") +
                       "\neval_prompts: " + Join("task/eval_prompts.jsonl") + "\nout: " + out +
                       "\nsteps: 6\nrollout:\n  prompts_per_step: 4\n  samples_per_prompt: 4\n  max_new_tokens: 12\n"
                       "reward:\n  dpo_reward_scale: 0.5\n  dpo_reward_clip: 0.2\n  normalize: true\n"
                       "ppo:\n  epochs: 2\n  mini_batch: 8\n  micro_batch: 4\n"
                       "actor:\n  lr: 3.0e-3\ncritic:\n  lr: 3.0e-3\neval:\n  every: 3\n  max_prompts: 4\n"
                       "checkpoint:\n  every: 3\n  keep: 3\n";
    auto reader = ConfigReader::Parse(yaml, "rto.yaml", overrides);
    EXPECT_THAT(reader, IsOk());
    RtoJobConfig cfg;
    EXPECT_THAT(cfg.Read(*reader), IsOk());
    resolved_ = reader->Resolved();
    return cfg;
  }

  static std::vector<json> Metrics(const std::string& out) {
    std::vector<json> lines;
    std::ifstream in(out + "/metrics.jsonl");
    for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
    return lines;
  }

  static TempDir* tmp_;
  std::string resolved_;
};

TempDir* RtoJobTest::tmp_ = nullptr;

TEST_F(RtoJobTest, RolloutLogProbsEqualTheLearnersForwardAndTheFirstRatioIsOne) {
  RtoJobConfig cfg = Config(Join("unused"));
  auto roles = MakeInProcessRoles(cfg);
  ASSERT_THAT(roles, IsOk());
  ASSERT_THAT(roles->learner().PublishWeights(std::nullopt), IsOk());
  ASSERT_THAT(roles->rollout->SyncWeights({.version = 0}), IsOk());
  RolloutRequest request{.prompts = {{0, {1, 2, 3}}, {5, {4, 5, 6, 7, 8}}}, .samples_per_prompt = 3};
  request.sampling.max_new_tokens = 10;
  request.first_trajectory_id = 100;
  auto trajectories = roles->rollout->Generate(request);
  ASSERT_THAT(trajectories, IsOk());
  ASSERT_EQ(trajectories->size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    const Trajectory& t = (*trajectories)[i];
    EXPECT_EQ(t.id, 100 + i);
    EXPECT_EQ(t.prompt_id, i < 3 ? 0 : 5);
    EXPECT_EQ(t.sample_index, static_cast<int64_t>(i % 3));
    EXPECT_EQ(t.policy_version, 0);
  }
  auto eval = roles->learner().LogProbs(*trajectories);
  ASSERT_THAT(eval, IsOk());
  double max_diff = 0;
  for (size_t i = 0; i < 6; ++i) {
    ASSERT_EQ(eval->logprobs[i].size(), (*trajectories)[i].logprobs.size());
    for (size_t j = 0; j < eval->logprobs[i].size(); ++j) {
      max_diff = std::max<double>(max_diff, std::abs(eval->logprobs[i][j] - (*trajectories)[i].logprobs[j]));
      EXPECT_GE(eval->entropy[i][j], 0);
    }
  }
  EXPECT_LT(max_diff, 1e-5);
  // Training on the learner's own log-probs: the first mini-batch's ratio is 1.
  PolicyExperience e{*trajectories, eval->logprobs, {}};
  for (const Trajectory& t : *trajectories) e.advantages.emplace_back(t.response.size(), 1.0f);
  auto metrics = roles->learner().Train(e, 0);
  ASSERT_THAT(metrics, IsOk());
  EXPECT_LT((*metrics)["ppo/first_minibatch_ratio_max_dev"], 1e-5);
  EXPECT_EQ(roles->learner().version(), 1);
  // The rollout serves the old version until it syncs, and then the new one.
  EXPECT_EQ((*roles->rollout->Generate(request))[0].policy_version, 0);
  ASSERT_THAT(roles->learner().PublishWeights(std::nullopt), IsOk());
  EXPECT_THAT(roles->rollout->SyncWeights({.version = 0}),
              StatusIs(absl::StatusCode::kFailedPrecondition, "version 0 were asked for, but version 1"));
  ASSERT_THAT(roles->rollout->SyncWeights({.version = 1}), IsOk());
  EXPECT_EQ((*roles->rollout->Generate(request))[0].policy_version, 1);
  for (size_t i = 0; i < roles->rollout->policy().parameters().size(); ++i) {
    EXPECT_TRUE(
        at::equal(roles->rollout->policy().parameters()[i].tensor, roles->learner().policy().parameters()[i].tensor));
  }
}

// The mean RM score of the last two steps is above that of the first two.
void ExpectTheRewardModelScoreRises(const std::vector<json>& m) {
  constexpr size_t window = 2;
  auto mean = [&](size_t begin) {
    double sum = 0;
    for (size_t i = begin; i < begin + window; ++i) sum += m[i]["reward/rm_score"].get<double>();
    return sum / static_cast<double>(window);
  };
  const double first = mean(0), last = mean(m.size() - window);
  EXPECT_GT(last, first + 0.5) << "first " << first << " last " << last;
  std::cerr << "mean RM score: the first " << window << " steps " << first << ", the last " << last << "\n";
}

TEST_F(RtoJobTest, ShortRunRaisesTheRewardModelScoreWithFiniteKl) {
  RtoJobConfig cfg = Config(Join("raise"), {"steps=12", "checkpoint.every=12"});
  ASSERT_THAT(RunRto(cfg, resolved_, false), IsOk());
  std::vector<json> m = Metrics(Join("raise"));
  ASSERT_EQ(m.size(), 12u);
  ExpectTheRewardModelScoreRises(m);
  for (const json& step : m) {
    EXPECT_TRUE(std::isfinite(step["kl/ref"].get<double>()));
    EXPECT_LT(step["rollout/logprob_max_diff"].get<double>(), 1e-4);
    EXPECT_NE(step["reward/dpo_token_mean"].get<double>(), 0);  // the DPO token reward is on
  }
  EXPECT_GT(m[11]["kl/ref"].get<double>(), 0);
  EXPECT_EQ(m[11]["samples"].get<double>(), 12 * 16);
  // Evaluation samples at steps 0, 3, ..., 12, in `rto eval`'s format.
  for (int step : {0, 3, 6, 9, 12}) {
    auto text = ReadFileToString(Join("raise/samples/step-" + std::to_string(step) + ".jsonl"));
    ASSERT_THAT(text, IsOk());
    json first_line = json::parse(text->substr(0, text->find('\n')));
    EXPECT_TRUE(first_line["prompt"].is_string());
    EXPECT_TRUE(first_line["response"].is_string());
  }
  EXPECT_TRUE(fs::exists(Join("raise/final/model.safetensors")));
  EXPECT_TRUE(fs::exists(Join("raise/final/tokenizer.json")));
  EXPECT_TRUE(fs::exists(Join("raise/summary.json")));
}

// bf16 compute over fp32 masters: the run trains as fp32 does, the rollout samples from the fp32
// masters the learner publishes, and checkpoints hold fp32.
//
// "Trains as fp32 does" is measured on the weights, not on the reward model's score: on this tiny
// random world the per-step score is noise (its spread over 36 steps is as wide in fp32 as in
// bf16), while from the same first rollouts the two precisions' updates point the same way. After
// two steps the cosine between the bf16 and the fp32 run's weight change is 0.994 (with and
// without oneDNN's AVX-512 kernels), against 0.12 between two fp32 runs that differ only in their
// seed; masters left unchanged, a lost loss scale or garbage bf16 gradients all fail it.
TEST_F(RtoJobTest, MixedPrecisionTrainsAndKeepsFloat32Masters) {
  for (const std::string precision : {"bf16", "fp32"}) {
    RtoJobConfig cfg = Config(Join(precision), {"steps=2", "checkpoint.every=1", "eval.every=0",
                                                "actor.precision=" + precision, "critic.precision=" + precision});
    ASSERT_THAT(RunRto(cfg, resolved_, false), IsOk());
  }
  auto init = LoadModel(Join("init")), bf16 = LoadModel(Join("bf16/final")), fp32 = LoadModel(Join("fp32/final"));
  ASSERT_THAT(init, IsOk());
  ASSERT_THAT(bf16, IsOk());
  ASSERT_THAT(fp32, IsOk());
  double dot = 0, bf16_norm2 = 0, fp32_norm2 = 0;
  for (size_t i = 0; i < (*init)->parameters().size(); ++i) {
    const at::Tensor& start = (*init)->parameters()[i].tensor;
    const at::Tensor bf16_step = (*bf16)->parameters()[i].tensor - start;
    const at::Tensor fp32_step = (*fp32)->parameters()[i].tensor - start;
    dot += (bf16_step * fp32_step).sum().item<double>();
    bf16_norm2 += bf16_step.square().sum().item<double>();
    fp32_norm2 += fp32_step.square().sum().item<double>();
  }
  ASSERT_GT(fp32_norm2, 0);
  EXPECT_GT(dot / std::sqrt(bf16_norm2 * fp32_norm2), 0.9) << "the bf16 and the fp32 updates part ways";
  EXPECT_NEAR(std::sqrt(bf16_norm2 / fp32_norm2), 1.0, 0.2) << "the bf16 update has another size";

  std::vector<json> m = Metrics(Join("bf16"));
  ASSERT_EQ(m.size(), 2u);
  for (const json& step : m) {
    // The behaviour log-probs (fp32 weights) against the learner's bf16 forward.
    EXPECT_GT(step["rollout/logprob_max_diff"].get<double>(), 1e-4);
    EXPECT_LT(step["rollout/logprob_max_diff"].get<double>(), 0.5);
    EXPECT_TRUE(std::isfinite(step["critic/value_loss"].get<double>()));
  }
  for (const std::string dir : {"final", "checkpoints/step-1/critic/model", "checkpoints/step-1/policy/model"}) {
    auto model = LoadModel(Join("bf16/" + dir));
    ASSERT_THAT(model, IsOk()) << dir;
    EXPECT_EQ((*model)->dtype(), at::kFloat) << dir;
  }

  auto reader = ConfigReader::Parse("models:\n  policy: a\n  dpo: a\n  reward: b\nprompts: c\nout: d\n", "x.yaml",
                                    {"dtype=bfloat16", "critic.precision=bf16"});
  ASSERT_THAT(reader, IsOk());
  RtoJobConfig bad;
  EXPECT_THAT(bad.Read(*reader), StatusIs(absl::StatusCode::kInvalidArgument, "critic.precision bf16 keeps float32"));
}

// Same metrics (timings aside) and bitwise equal final policy and critic.
void ExpectSameRun(const std::string& a_dir, const std::string& b_dir, const std::vector<json>& a,
                   const std::vector<json>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    for (auto& [key, value] : a[i].items()) {
      if (key.rfind("time/", 0) == 0 || key.rfind("throughput/", 0) == 0) continue;
      EXPECT_EQ(value, b[i][key]) << "step " << i << " " << key;
    }
  }
  for (const std::string dir : {"final", "checkpoints/step-6/critic/model"}) {
    auto x = LoadModel(a_dir + "/" + dir), y = LoadModel(b_dir + "/" + dir);
    ASSERT_THAT(x, IsOk());
    ASSERT_THAT(y, IsOk());
    for (size_t i = 0; i < (*x)->parameters().size(); ++i) {
      EXPECT_TRUE(at::equal((*x)->parameters()[i].tensor, (*y)->parameters()[i].tensor))
          << dir << " " << (*x)->parameters()[i].name;
    }
  }
}

TEST_F(RtoJobTest, ResumeIsExact) {
  // On-policy, and generating one batch ahead (which pauses at checkpoints for this reason).
  for (const std::string staleness : {"0", "1"}) {
    SCOPED_TRACE("max_staleness " + staleness);
    const std::vector<std::string> set = {"rollout.max_staleness=" + staleness};
    ASSERT_THAT(RunRto(Config(Join("straight-" + staleness), set), resolved_, false), IsOk());
    // A run that "crashed" after its step-3 checkpoint.
    RtoJobConfig cfg = Config(Join("crashed-" + staleness), set);
    ASSERT_THAT(RunRto(cfg, resolved_, false), IsOk());
    fs::remove_all(Join("crashed-" + staleness + "/checkpoints/step-6"));
    fs::remove_all(Join("crashed-" + staleness + "/final"));
    ASSERT_THAT(RunRto(cfg, resolved_, /*resume=*/true), IsOk());
    std::vector<json> a = Metrics(Join("straight-" + staleness)), b = Metrics(Join("crashed-" + staleness));
    ASSERT_EQ(a.size(), 6u);
    ExpectSameRun(Join("straight-" + staleness), Join("crashed-" + staleness), a, b);
    // Checkpoints and evaluations every 3 steps: steps 1, 2, 4 and 5 were generated ahead.
    std::string pattern;
    for (const json& m : a) pattern += std::to_string(m["rollout/staleness"].get<int>());
    EXPECT_EQ(pattern, staleness == "0" ? "000000" : "011011");
  }
  RtoJobConfig cfg = Config(Join("stale-2"), {"rollout.max_staleness=2"});
  EXPECT_THAT(RunRto(cfg, resolved_, false),
              StatusIs(absl::StatusCode::kInvalidArgument, "rollout.max_staleness is 2; it must be 0"));
}

// Within `rtol` of each other, relative to the larger magnitude (or to 1 below it).
void ExpectNear(double a, double b, double rtol, const std::string& what) {
  EXPECT_LE(std::abs(a - b), rtol * std::max({1.0, std::abs(a), std::abs(b)})) << what << ": " << a << " vs " << b;
}

void ExpectModelsClose(const std::string& a_dir, const std::string& b_dir, double rtol) {
  auto a = LoadModel(a_dir), b = LoadModel(b_dir);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  for (size_t i = 0; i < (*a)->parameters().size(); ++i) {
    const at::Tensor& x = (*a)->parameters()[i].tensor;
    const at::Tensor& y = (*b)->parameters()[i].tensor;
    const double relative = ((x - y).norm() / y.norm()).item<double>();
    EXPECT_LT(relative, rtol) << a_dir << " " << (*a)->parameters()[i].name;
  }
}

// A learner and a critic of two data-parallel ranks (ZeRO-1) train on a batch as one rank does:
// metrics and weights within 1e-6 relative; their evaluations, split over the ranks, equal one
// rank's; the ranks hold equal weights.
TEST_F(RtoJobTest, TwoRankLearnerAndCriticEqualOneRankOnTheSameBatch) {
  auto one = MakeInProcessRoles(Config(Join("unused")));
  auto two = MakeInProcessRoles(Config(Join("unused"), {"launch.learner_ranks=2", "launch.critic_ranks=2"}));
  ASSERT_THAT(one, IsOk());
  ASSERT_THAT(two, IsOk());
  ASSERT_EQ(two->learners.size(), 2u);
  ASSERT_EQ(two->critics.size(), 2u);
  ASSERT_THAT(one->learner().PublishWeights(std::nullopt), IsOk());
  ASSERT_THAT(one->rollout->SyncWeights({.version = 0}), IsOk());
  RolloutRequest request{.prompts = {{0, {1, 2, 3}}, {1, {4, 5}}, {2, {6, 7, 8, 9}}, {3, {3, 3}}},
                         .samples_per_prompt = 4};
  request.sampling.max_new_tokens = 10;
  auto trajectories = one->rollout->Generate(request);
  ASSERT_THAT(trajectories, IsOk());
  const Coordinator::Roles a = one->roles(), b = two->roles();
  auto eval_a = a.learner->LogProbs(*trajectories), eval_b = b.learner->LogProbs(*trajectories);
  auto values_a = a.critic->Values(*trajectories), values_b = b.critic->Values(*trajectories);
  ASSERT_THAT(eval_a, IsOk());
  ASSERT_THAT(eval_b, IsOk());
  ASSERT_THAT(values_a, IsOk());
  ASSERT_THAT(values_b, IsOk());
  ASSERT_EQ(eval_b->logprobs.size(), trajectories->size());
  ASSERT_EQ(values_b->size(), trajectories->size());
  PolicyExperience policy{*trajectories, eval_a->logprobs, {}};
  ValueExperience value{*trajectories, *values_a, {}};
  for (size_t i = 0; i < trajectories->size(); ++i) {
    for (size_t j = 0; j < eval_a->logprobs[i].size(); ++j) {
      ExpectNear(eval_a->logprobs[i][j], eval_b->logprobs[i][j], 1e-5, "log-prob");
      ExpectNear((*values_a)[i][j], (*values_b)[i][j], 1e-5, "value");
    }
    std::vector<float> advantages, returns;
    for (size_t j = 0; j < (*trajectories)[i].response.size(); ++j) {
      advantages.push_back(0.5f * static_cast<float>((i + j) % 3) - 0.5f);
      returns.push_back(0.1f * static_cast<float>(i % 5));
    }
    policy.advantages.push_back(advantages);
    value.returns.push_back(returns);
  }
  for (int64_t step : {0, 1}) {
    auto ma = a.learner->Train(policy, step), mb = b.learner->Train(policy, step);
    auto ca = a.critic->Train(value, step), cb = b.critic->Train(value, step);
    ASSERT_THAT(mb, IsOk());
    ASSERT_THAT(cb, IsOk());
    ma->insert(ca->begin(), ca->end());
    mb->insert(cb->begin(), cb->end());
    ASSERT_EQ(ma->size(), mb->size());
    for (const auto& [key, v] : *ma) ExpectNear(v, (*mb)[key], 1e-6, key);
  }
  EXPECT_EQ(two->learners[1]->version(), 2);
  auto print = b.learner->Fingerprint();  // checks that the ranks hold equal weights
  ASSERT_THAT(print, IsOk());
  ASSERT_THAT(a.learner->Save(Join("dp-one/policy")), IsOk());
  ASSERT_THAT(b.learner->Save(Join("dp-two/policy")), IsOk());
  ASSERT_THAT(a.critic->Save(Join("dp-one/critic")), IsOk());
  ASSERT_THAT(b.critic->Save(Join("dp-two/critic")), IsOk());
  EXPECT_TRUE(fs::exists(Join("dp-two/critic/optimizer-1-of-2.safetensors")));
  ExpectModelsClose(Join("dp-two/policy/model"), Join("dp-one/policy/model"), 1e-6);
  ExpectModelsClose(Join("dp-two/critic/model"), Join("dp-one/critic/model"), 1e-6);
}

// A run of two-rank learner and critic resumes bitwise; its checkpoint resumes on one rank too.
TEST_F(RtoJobTest, DataParallelResumeIsExactAndReshards) {
  const std::vector<std::string> two = {"launch.learner_ranks=2", "launch.critic_ranks=2"};
  ASSERT_THAT(RunRto(Config(Join("dp-straight"), two), resolved_, false), IsOk());
  RtoJobConfig cfg = Config(Join("dp-crashed"), two);
  ASSERT_THAT(RunRto(cfg, resolved_, false), IsOk());
  fs::remove_all(Join("dp-crashed/checkpoints/step-6"));
  fs::remove_all(Join("dp-crashed/final"));
  fs::copy(Join("dp-crashed"), Join("dp-one-rank"), fs::copy_options::recursive);
  ASSERT_THAT(RunRto(cfg, resolved_, /*resume=*/true), IsOk());
  ExpectSameRun(Join("dp-straight"), Join("dp-crashed"), Metrics(Join("dp-straight")), Metrics(Join("dp-crashed")));
  ASSERT_THAT(RunRto(Config(Join("dp-one-rank")), resolved_, /*resume=*/true), IsOk());
  EXPECT_EQ(Metrics(Join("dp-one-rank")).size(), 6u);
}

// Fails the writes of files whose path contains `pattern` the way a file system does: on open
// with EACCES (`on_open`), or on write with ENOSPC (a full disk).
class FaultyFileSystem : public FileSystem {
 public:
  FaultyFileSystem(std::string pattern, bool on_open) : pattern_(std::move(pattern)), on_open_(on_open) {}
  int Open(const std::string& path, int flags, int mode) override {
    const bool faulty = path.find(pattern_) != std::string::npos;
    if (faulty && on_open_) {
      errno = EACCES;
      return -1;
    }
    const int fd = FileSystem::Open(path, flags, mode);
    absl::MutexLock lock(&mu_);
    if (faulty) {
      faulty_.insert(fd);
    } else {
      faulty_.erase(fd);
    }
    return fd;
  }
  ssize_t Write(int fd, const void* data, size_t size) override {
    {
      absl::MutexLock lock(&mu_);
      if (faulty_.count(fd) > 0) {
        errno = ENOSPC;
        return -1;
      }
    }
    return FileSystem::Write(fd, data, size);
  }

 private:
  const std::string pattern_;
  const bool on_open_;
  absl::Mutex mu_;
  std::set<int> faulty_ ABSL_GUARDED_BY(mu_);
};

// A checkpoint whose write fails (a full disk, a permission) fails the run with the file and the
// reason, leaves the previous checkpoint as it was and nothing half-written, and a resume takes
// the previous one and ends as the undisturbed run.
TEST_F(RtoJobTest, AFailedCheckpointWriteKeepsThePreviousOneAndResumeSkipsIt) {
  ASSERT_THAT(RunRto(Config(Join("ckpt-straight")), resolved_, false), IsOk());
  for (const bool on_open : {false, true}) {
    const std::string out = Join(on_open ? "ckpt-denied" : "ckpt-full");
    RtoJobConfig cfg = Config(out);
    FaultyFileSystem faulty(".tmp-step-6/policy/optimizer", on_open);
    FileSystem::SetForTesting(&faulty);
    const absl::Status failed = RunRto(cfg, resolved_, false);
    FileSystem::SetForTesting(nullptr);
    EXPECT_THAT(failed, StatusIs(on_open ? absl::StatusCode::kPermissionDenied : absl::StatusCode::kResourceExhausted,
                                 on_open ? "Permission denied" : "No space left on device"));
    EXPECT_THAT(std::string(failed.message()), ::testing::HasSubstr(".tmp-step-6/policy/optimizer"));
    std::vector<std::string> entries;
    for (const auto& e : fs::directory_iterator(out + "/checkpoints")) entries.push_back(e.path().filename());
    std::sort(entries.begin(), entries.end());
    EXPECT_EQ(entries, (std::vector<std::string>{"step-3"})) << "nothing half-written is left";
    ASSERT_THAT(RunRto(cfg, resolved_, /*resume=*/true), IsOk());
    ExpectSameRun(Join("ckpt-straight"), out, Metrics(Join("ckpt-straight")), Metrics(out));
  }
}

TEST_F(RtoJobTest, AStopBetweenStepsSavesACheckpointToResumeFrom) {
  ASSERT_THAT(RunRto(Config(Join("unstopped")), resolved_, false), IsOk());
  for (const std::string staleness : {"0", "1"}) {
    SCOPED_TRACE("max_staleness " + staleness);
    RtoJobConfig cfg = Config(Join("stop-" + staleness), {"rollout.max_staleness=" + staleness});
    auto roles = MakeInProcessRoles(cfg);
    ASSERT_THAT(roles, IsOk());
    auto tokenizer = LoadTokenizer(cfg.models.policy);
    ASSERT_THAT(tokenizer, IsOk());
    auto coordinator = MakeCoordinator(cfg, roles->roles(), **tokenizer, resolved_, false);
    ASSERT_THAT(coordinator, IsOk());
    (*coordinator)->set_between_steps([&] { return (*coordinator)->step() == 4; });
    ASSERT_THAT((*coordinator)->Run(), IsOk());
    EXPECT_TRUE((*coordinator)->stopped());
    EXPECT_EQ(Metrics(Join("stop-" + staleness)).size(), 4u);
    EXPECT_TRUE(fs::exists(Join("stop-" + staleness + "/checkpoints/step-4/coordinator.json")));
    EXPECT_FALSE(fs::exists(Join("stop-" + staleness + "/final")));
  }
  // The batch generated ahead was dropped and its prompts given back: both stopped at the same
  // place in the data.
  auto on_policy = ReadFileToString(Join("stop-0/checkpoints/step-4/coordinator.json"));
  auto ahead = ReadFileToString(Join("stop-1/checkpoints/step-4/coordinator.json"));
  ASSERT_THAT(on_policy, IsOk());
  ASSERT_THAT(ahead, IsOk());
  EXPECT_EQ(*on_policy, *ahead);
  // On-policy, the stopped run resumes into exactly the run that never stopped.
  ASSERT_THAT(RunRto(Config(Join("stop-0"), {"rollout.max_staleness=0"}), resolved_, /*resume=*/true), IsOk());
  ExpectSameRun(Join("unstopped"), Join("stop-0"), Metrics(Join("unstopped")), Metrics(Join("stop-0")));
}

TEST_F(RtoJobTest, CriticFreeEstimatorsRunWithoutACritic) {
  for (const char* estimator : {"grpo", "rloo", "reinforce++"}) {
    const std::string out = Join(std::string("est-") + estimator);
    RtoJobConfig cfg = Config(out, {std::string("advantage.estimator=") + estimator, "steps=2", "eval.every=0"});
    auto roles = MakeInProcessRoles(cfg);
    ASSERT_THAT(roles, IsOk());
    EXPECT_TRUE(roles->critics.empty());
    ASSERT_THAT(RunRto(cfg, resolved_, false), IsOk()) << estimator;
    std::vector<json> m = Metrics(out);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_FALSE(m[0].contains("critic/value_loss"));
    EXPECT_TRUE(std::isfinite(m[1]["policy/loss"].get<double>())) << estimator;
  }
  RtoJobConfig cfg = Config(Join("grpo-1"), {"advantage.estimator=grpo", "rollout.samples_per_prompt=1"});
  EXPECT_THAT(RunRto(cfg, resolved_, false), StatusIs(absl::StatusCode::kInvalidArgument, "at least 2 samples"));
}

TEST_F(RtoJobTest, DpoRewardScaleFollowsItsLinearSchedule) {
  RtoJobConfig cfg = Config(Join("scheduled"), {"reward.dpo_reward_scale=0.4", "reward.dpo_reward_scale_end=0",
                                                "steps=3", "eval.every=0", "checkpoint.every=100"});
  ASSERT_THAT(RunRto(cfg, resolved_, false), IsOk());
  std::vector<json> m = Metrics(Join("scheduled"));
  ASSERT_EQ(m.size(), 3u);
  for (int step = 0; step < 3; ++step) {
    EXPECT_NEAR(m[step]["reward/dpo_scale"].get<double>(), 0.4 - 0.2 * step, 1e-12) << step;
  }
  // The schedule reaches the rewards: the last step's beta1 is 0, and so is its DPO reward.
  EXPECT_NE(m[0]["reward/dpo_token_mean"].get<double>(), 0);
  EXPECT_EQ(m[2]["reward/dpo_token_mean"].get<double>(), 0);
  CoordinatorOptions constant;
  constant.reward.dpo_reward_scale = 0.3;
  EXPECT_EQ(DpoRewardScaleAt(constant, 7), 0.3);
  CoordinatorOptions one_step = constant;
  one_step.steps = 1;
  one_step.dpo_reward_scale_end = 0;
  EXPECT_EQ(DpoRewardScaleAt(one_step, 0), 0.3);
  auto reader = ConfigReader::Parse("models:\n  policy: a\n  reward: b\nprompts: c\nout: d\n", "x.yaml",
                                    {"reward.dpo_reward_scale=0", "reward.dpo_reward_scale_end=0.2"});
  ASSERT_THAT(reader, IsOk());
  RtoJobConfig ppo_with_schedule;
  EXPECT_THAT(ppo_with_schedule.Read(*reader),
              StatusIs(absl::StatusCode::kInvalidArgument, "reward.dpo_reward_scale is 0 (PPO)"));
}

TEST_F(RtoJobTest, PpoNeedsNoDpoModel) {
  RtoJobConfig cfg = Config(Join("ppo"), {"reward.dpo_reward_scale=0", "models.dpo=", "steps=1", "eval.every=0"});
  ASSERT_THAT(RunRto(cfg, resolved_, false), IsOk());
  EXPECT_EQ(Metrics(Join("ppo"))[0]["reward/dpo_token_mean"].get<double>(), 0);
  auto reader = ConfigReader::Parse("models:\n  policy: a\n  reward: b\nprompts: c\nout: d\n", "x.yaml");
  ASSERT_THAT(reader, IsOk());
  RtoJobConfig missing;
  EXPECT_THAT(missing.Read(*reader), StatusIs(absl::StatusCode::kInvalidArgument, "models.dpo is required"));
}

TEST_F(RtoJobTest, FrozenModelsScoreTheSameMappedOrCopiedAndWithTheReferenceNamedTwice) {
  const Trajectory t{.id = 1, .prompt = {1, 2, 3}, .response = {4, 5, 6}, .logprobs = {-1, -1, -1}};
  auto score = [&](std::vector<std::string> overrides) {
    auto scorer = MakeScorer(Config(Join("unused"), std::move(overrides)));
    EXPECT_THAT(scorer, IsOk());
    auto result = (*scorer)->Score({t}, true);
    EXPECT_THAT(result, IsOk());
    return *result;
  };
  const ScoreResult mapped = score({});
  for (const ScoreResult& other : {score({"frozen.map_weights=false"}), score({"models.dpo_reference=" + Join("init")}),
                                   score({"frozen.dtype=float32"})}) {
    EXPECT_EQ(other.ref_logprobs, mapped.ref_logprobs);
    EXPECT_EQ(other.dpo_logratio, mapped.dpo_logratio);
    EXPECT_EQ(other.rm_scores, mapped.rm_scores);
  }
  // bfloat16 compute is close to float32, not equal.
  const ScoreResult bf16 = score({"frozen.dtype=bfloat16"});
  EXPECT_NE(bf16.ref_logprobs, mapped.ref_logprobs);
  for (size_t i = 0; i < t.response.size(); ++i) EXPECT_NEAR(bf16.ref_logprobs[0][i], mapped.ref_logprobs[0][i], 0.1);

  auto reader = ConfigReader::Parse("models:\n  policy: a\n  dpo: a\n  reward: b\nprompts: c\nout: d\n", "x.yaml",
                                    {"frozen.dtype=float8"});
  ASSERT_THAT(reader, IsOk());
  RtoJobConfig bad;
  EXPECT_THAT(bad.Read(*reader), StatusIs(absl::StatusCode::kInvalidArgument, "'frozen.dtype': "));
}

// A reward model of another family: its own tokenizer (the Llama-3-style BPE fixture, not the
// task's), its own vocabulary and chat template. Written once, into `rm-other`.
std::string RewardModelWithItsOwnTokenizer(const std::function<std::string(const std::string&)>& join) {
  const std::string bare = join("rm-other-bare"), dir = join("rm-other");
  if (fs::exists(dir)) return dir;
  const std::string fixture = testing::SourceDir() + "/tests/fixtures/tokenizers/llama3-style";
  auto tokenizer = LoadTokenizer(fixture);
  EXPECT_THAT(tokenizer, IsOk());
  auto config = LoadModelConfig(join("init/config.json"));
  EXPECT_THAT(config, IsOk());
  config->vocab_size = (*tokenizer)->vocab_size();
  auto model = Transformer::Create(*config, at::kFloat, at::kCPU);
  EXPECT_THAT(model, IsOk());
  (*model)->InitRandom(11);
  EXPECT_THAT(SaveModel(**model, bare), IsOk());
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) fs::copy_file(fixture + "/" + f, bare + "/" + f);
  auto rm = LoadModel(bare, {.head = HeadKind::kScore, .init_missing_score_seed = 5});
  EXPECT_THAT(rm, IsOk());
  EXPECT_THAT(SaveModelWithTokenizer(**rm, dir, bare), IsOk());
  return dir;
}

TEST_F(RtoJobTest, ARewardModelWithItsOwnTokenizerScoresItsOwnEncodingOfTheConversation) {
  const std::string rm_dir = RewardModelWithItsOwnTokenizer([](const std::string& p) { return Join(p); });
  RtoJobConfig cfg = Config(Join("unused"), {"models.reward=" + rm_dir});
  auto policy_tok = LoadTokenizer(Join("init"));
  auto rm_tok = LoadTokenizer(rm_dir);
  ASSERT_THAT(policy_tok, IsOk());
  ASSERT_THAT(rm_tok, IsOk());
  ASSERT_NE((*policy_tok)->vocab_size(), (*rm_tok)->vocab_size());
  auto rows = ReadPrompts(Join("task/rl_prompts.jsonl"), {});
  ASSERT_THAT(rows, IsOk());
  auto policy_template = DetectChatTemplate((*policy_tok)->chat_template());
  ASSERT_THAT(policy_template, IsOk());
  TextEncoder policy_enc(**policy_tok, {.chat_template = *policy_template});
  TextEncoder rm_enc(**rm_tok, {.chat_template = ChatTemplate::kLlama3});  // the fixture's own template
  const std::vector<std::string> texts = {"a b c", "zz top", "1 2 3 4"};
  std::vector<Trajectory> trajectories;
  for (size_t i = 0; i < texts.size(); ++i) {
    trajectories.push_back({.id = i + 1,
                            .prompt = *policy_enc.Prompt((*rows)[i].prompt),
                            .response = policy_enc.Response(texts[i]),
                            .stopped = true});
    trajectories.back().logprobs.assign(trajectories.back().response.size(), -1.0f);
  }
  auto scorer = MakeScorer(cfg);
  ASSERT_THAT(scorer, IsOk());
  auto result = (*scorer)->Score(trajectories, true);
  ASSERT_THAT(result, IsOk());
  // The reward model by hand, on the conversation in its own template and tokens.
  auto rm = LoadModel(rm_dir, {.head = HeadKind::kScore});
  ASSERT_THAT(rm, IsOk());
  c10::NoGradGuard no_grad;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<int64_t> ids = *rm_enc.Prompt((*rows)[i].prompt);
    const std::vector<int64_t> response = rm_enc.Response(texts[i]);  // the text, then the RM's EOS
    ids.insert(ids.end(), response.begin(), response.end());
    at::Tensor input = at::tensor(ids, at::kLong).view({1, -1});
    at::Tensor hidden = (*rm)->Forward(input, at::ones_like(input));
    const float expected = (*rm)->Scores(hidden.select(1, input.size(1) - 1)).item<float>();
    EXPECT_NEAR(result->rm_scores[i], expected, 1e-5) << texts[i];
  }
  // The per-token results stay in the policy's tokens.
  EXPECT_EQ(result->ref_logprobs[0].size(), trajectories[0].response.size());
}

TEST_F(RtoJobTest, ARunWithARewardModelAndCriticOfAnotherFamilyTrains) {
  const std::string rm_dir = RewardModelWithItsOwnTokenizer([](const std::string& p) { return Join(p); });
  const std::string out = Join("other-family");
  RtoJobConfig cfg = Config(out, {"models.reward=" + rm_dir, "reward.normalize=false", "steps=2", "eval.every=0"});
  ASSERT_THAT(RunRto(cfg, resolved_, false), IsOk());
  std::vector<json> m = Metrics(out);
  ASSERT_EQ(m.size(), 2u);
  for (const char* key : {"critic/value_loss", "policy/loss", "reward/rm_score"}) {
    ASSERT_TRUE(m[1].contains(key)) << key;
    EXPECT_TRUE(std::isfinite(m[1][key].get<double>())) << key;
  }
}

TEST_F(RtoJobTest, BadInputIsRejectedWithAReason) {
  RtoJobConfig cfg = Config(Join("unused"));
  auto roles = MakeInProcessRoles(cfg);
  ASSERT_THAT(roles, IsOk());
  Trajectory t{.id = 9, .prompt = {1, 2}, .response = {3, 100000}, .logprobs = {-1, -1}};
  EXPECT_THAT(roles->scorer->Score({t}, true), StatusIs(absl::StatusCode::kInvalidArgument, "trajectory 9: token id"));
  EXPECT_THAT(roles->learner().LogProbs({}), StatusIs(absl::StatusCode::kInvalidArgument, "empty batch"));
  t.response = {3, 4};
  PolicyExperience e{{t}, {{-1.0f}}, {{1.0f, 1.0f}}};
  EXPECT_THAT(roles->learner().Train(e, 0), StatusIs(absl::StatusCode::kInvalidArgument, "1 old log-probs for 2"));
  EXPECT_THAT(roles->rollout->Generate({.prompts = {{3, {1, -5}}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, "prompt 3: token id -5"));
  auto reader = ConfigReader::Parse(
      "models:\n  policy: a\n  dpo: a\n  reward: b\nprompts: c\nout: d\nadvantage:\n  estimator: ppo2\n", "x.yaml");
  RtoJobConfig bad;
  EXPECT_THAT(bad.Read(*reader), StatusIs(absl::StatusCode::kInvalidArgument, "unknown advantage estimator 'ppo2'"));
}

}  // namespace
}  // namespace rto
