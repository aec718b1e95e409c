#include "common/train/preference_jobs.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/model/checkpoint.h"
#include "nlohmann/json.hpp"
#include "tests/testing/synth_world.h"
#include "tests/testing/test_util.h"

namespace rto {
namespace {

using nlohmann::json;
using testing::IsOk;
using testing::StatusIs;
using testing::TempDir;
namespace fs = std::filesystem;

class PreferenceJobsTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::MakeSynthWorld(tmp_.path()); }

  ConfigReader Reader(const std::string& out, const std::string& extra) {
    std::string yaml = "model: " + tmp_.Join("init") + "\ndata: " + tmp_.Join("task/preferences.jsonl") +
                       "\nout: " + out + "\ntrain:\n  steps: 4\n  micro_batch: 4\n  grad_accum: 2\n  lr: 1.0e-3\n" +
                       extra;
    auto reader = ConfigReader::Parse(yaml, "job.yaml");
    EXPECT_THAT(reader, IsOk());
    return std::move(*reader);
  }

  std::vector<json> Metrics(const std::string& out) {
    std::vector<json> lines;
    std::ifstream in(out + "/metrics.jsonl");
    for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
    return lines;
  }

  TempDir tmp_;
};

TEST_F(PreferenceJobsTest, RewardModelTrainsEvaluatesAndSavesItsNormalisation) {
  ConfigReader reader = Reader(tmp_.Join("rm"), "eval_fraction: 0.25\n");
  RmJobConfig cfg;
  ASSERT_THAT(cfg.Read(reader), IsOk());
  ASSERT_THAT(RunRm(cfg, reader.Resolved(), false), IsOk());
  std::vector<json> metrics = Metrics(tmp_.Join("rm"));
  ASSERT_EQ(metrics.size(), 4u);
  // At a fresh score head the scores are near 0: the loss starts near log 2.
  EXPECT_NEAR(metrics[0]["loss"].get<double>(), std::log(2.0), 0.1);
  json eval = json::parse(testing::ReadFile(tmp_.Join("rm/eval.json")));
  EXPECT_EQ(eval["eval_pairs"], 16);
  EXPECT_GE(eval["eval_accuracy"].get<double>(), 0.0);
  EXPECT_LE(eval["eval_accuracy"].get<double>(), 1.0);
  json norm = json::parse(testing::ReadFile(tmp_.Join("rm/final/reward_normalization.json")));
  EXPECT_GT(norm["std"].get<double>(), 0.0);
  EXPECT_EQ(eval["normalization_scores"], 2 * 48);  // every training pair: under the bound
  auto rm = LoadModel(tmp_.Join("rm/final"));
  ASSERT_THAT(rm, IsOk());
  EXPECT_EQ((*rm)->config().ArchitectureName(), "LlamaForSequenceClassification");
}

TEST_F(PreferenceJobsTest, RewardNormalisationUsesABoundedSeededSample) {
  ConfigReader reader = Reader(tmp_.Join("rm-sample"), "eval_fraction: 0.25\nnormalization_pairs: 10\n");
  RmJobConfig cfg;
  ASSERT_THAT(cfg.Read(reader), IsOk());
  ASSERT_THAT(RunRm(cfg, reader.Resolved(), false), IsOk());
  json eval = json::parse(testing::ReadFile(tmp_.Join("rm-sample/eval.json")));
  EXPECT_EQ(eval["normalization_scores"], 2 * 10);
  json norm = json::parse(testing::ReadFile(tmp_.Join("rm-sample/final/reward_normalization.json")));
  EXPECT_GT(norm["std"].get<double>(), 0.0);

  ConfigReader bad = Reader(tmp_.Join("rm-bad"), "normalization_pairs: -1\n");
  RmJobConfig bad_cfg;
  EXPECT_THAT(bad_cfg.Read(bad), StatusIs(absl::StatusCode::kInvalidArgument, "'normalization_pairs' must be >= 0"));
}

TEST_F(PreferenceJobsTest, DpoStartsAtLog2AndBothReferenceModesAgree) {
  for (const char* mode : {"precompute", "online"}) {
    const std::string out = tmp_.Join(std::string("dpo-") + mode);
    ConfigReader reader = Reader(out, std::string("dpo:\n  beta: 0.5\n  reference_mode: ") + mode + "\n");
    DpoJobConfig cfg;
    ASSERT_THAT(cfg.Read(reader), IsOk());
    ASSERT_THAT(RunDpo(cfg, reader.Resolved(), false), IsOk());
    std::vector<json> metrics = Metrics(out);
    ASSERT_EQ(metrics.size(), 4u);
    // The policy starts as its own reference: loss log 2, rewards 0.
    EXPECT_NEAR(metrics[0]["loss"].get<double>(), std::log(2.0), 1e-6) << mode;
    EXPECT_NEAR(metrics[0]["reward_margin"].get<double>(), 0.0, 1e-6) << mode;
    EXPECT_GT(metrics[3]["reward_margin"].get<double>(), metrics[0]["reward_margin"].get<double>()) << mode;
  }
  // The reference is frozen either way: both modes give the same trajectory.
  std::vector<json> a = Metrics(tmp_.Join("dpo-precompute")), b = Metrics(tmp_.Join("dpo-online"));
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i]["loss"].get<double>(), b[i]["loss"].get<double>(), 1e-5);
}

TEST_F(PreferenceJobsTest, IpoStartsAtItsClosedForm) {
  ConfigReader reader = Reader(tmp_.Join("ipo"), "dpo:\n  loss: ipo\n  beta: 0.5\n");
  DpoJobConfig cfg;
  ASSERT_THAT(cfg.Read(reader), IsOk());
  ASSERT_THAT(RunDpo(cfg, reader.Resolved(), false), IsOk());
  EXPECT_NEAR(Metrics(tmp_.Join("ipo"))[0]["loss"].get<double>(), 1.0, 1e-6);  // (0 - 1 / (2 * 0.5))^2
}

TEST_F(PreferenceJobsTest, ConfigErrors) {
  DpoJobConfig dpo;
  ConfigReader bad_loss = Reader(tmp_.Join("x"), "dpo:\n  loss: hinge\n");
  EXPECT_THAT(dpo.Read(bad_loss), StatusIs(absl::StatusCode::kInvalidArgument, "DPO loss 'hinge'"));
  ConfigReader bad_mode = Reader(tmp_.Join("x"), "dpo:\n  reference_mode: lazy\n");
  EXPECT_THAT(DpoJobConfig().Read(bad_mode), StatusIs(absl::StatusCode::kInvalidArgument, "precompute or online"));
  ConfigReader bad_fraction = Reader(tmp_.Join("x"), "eval_fraction: 1.5\n");
  EXPECT_THAT(RmJobConfig().Read(bad_fraction), StatusIs(absl::StatusCode::kInvalidArgument, "eval_fraction"));
}

}  // namespace
}  // namespace rto
