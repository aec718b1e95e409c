#include "common/train/sft_job.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>

#include "common/model/checkpoint.h"
#include "nlohmann/json.hpp"
#include "tests/testing/synth_world.h"
#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;
using testing::TempDir;
namespace fs = std::filesystem;

// A synthetic task's world and a tiny random model that carries its tokenizer.
class SftJobTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::MakeSynthWorld(tmp_.path()); }

  SftJobConfig Config(const std::string& out) {
    std::string yaml = "model: " + tmp_.Join("init") + "\ndata: " + tmp_.Join("task/sft.jsonl") + "\nout: " + out +
                       "\ntrain:\n  steps: 6\n  micro_batch: 4\n  grad_accum: 2\n  lr: 3.0e-3\n  warmup_steps: 1\n"
                       "checkpoint:\n  every: 3\n  keep: 3\n";
    auto reader = ConfigReader::Parse(yaml, "sft.yaml");
    EXPECT_THAT(reader, IsOk());
    SftJobConfig cfg;
    EXPECT_THAT(cfg.Read(*reader), IsOk());
    resolved_ = reader->Resolved();
    return cfg;
  }

  std::unique_ptr<Transformer> Final(const std::string& out) {
    auto m = LoadModel(out + "/final");
    EXPECT_THAT(m, IsOk());
    return std::move(*m);
  }

  TempDir tmp_;
  std::string resolved_;
};

TEST_F(SftJobTest, LossFallsAndTheRunDirectoryIsComplete) {
  SftJobConfig cfg = Config(tmp_.Join("run"));
  ASSERT_THAT(RunSft(cfg, resolved_, /*resume=*/false), IsOk());
  std::vector<double> losses;
  std::ifstream metrics(tmp_.Join("run/metrics.jsonl"));
  for (std::string line; std::getline(metrics, line);) losses.push_back(nlohmann::json::parse(line)["loss"]);
  ASSERT_EQ(losses.size(), 6u);
  EXPECT_LT(losses.back(), losses.front());
  EXPECT_TRUE(fs::exists(tmp_.Join("run/config.yaml")));
  EXPECT_TRUE(fs::exists(tmp_.Join("run/summary.json")));
  EXPECT_TRUE(fs::exists(tmp_.Join("run/checkpoints/step-3/model/model.safetensors")));
  EXPECT_TRUE(fs::exists(tmp_.Join("run/checkpoints/step-6/optimizer.safetensors")));
  EXPECT_THAT(LoadModel(tmp_.Join("run/checkpoints/step-6/model")), IsOk());
  // A second run into the same directory without --resume is refused.
  EXPECT_THAT(RunSft(cfg, resolved_, false), StatusIs(absl::StatusCode::kAlreadyExists, "pass --resume"));
}

TEST_F(SftJobTest, ResumeEndsWithTheSameWeightsBitwise) {
  ASSERT_THAT(RunSft(Config(tmp_.Join("straight")), resolved_, false), IsOk());
  // A run that "crashed" after its step-3 checkpoint: later checkpoints and outputs are gone.
  SftJobConfig cfg = Config(tmp_.Join("crashed"));
  ASSERT_THAT(RunSft(cfg, resolved_, false), IsOk());
  fs::remove_all(tmp_.Join("crashed/checkpoints/step-6"));
  fs::remove_all(tmp_.Join("crashed/final"));
  ASSERT_THAT(RunSft(cfg, resolved_, /*resume=*/true), IsOk());
  // The metrics are those of one run: steps logged after the step-3 checkpoint are not doubled.
  std::ifstream metrics(tmp_.Join("crashed/metrics.jsonl"));
  std::vector<int64_t> steps;
  for (std::string line; std::getline(metrics, line);) steps.push_back(nlohmann::json::parse(line)["step"]);
  EXPECT_EQ(steps, (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  auto a = Final(tmp_.Join("straight")), b = Final(tmp_.Join("crashed"));
  for (size_t i = 0; i < a->parameters().size(); ++i) {
    EXPECT_TRUE(at::equal(a->parameters()[i].tensor, b->parameters()[i].tensor)) << a->parameters()[i].name;
  }
}

TEST_F(SftJobTest, ConfigErrorsNameTheKey) {
  auto reader = ConfigReader::Parse("model: m\ndata: d\nout: o\ntrain:\n  stepz: 3\n", "sft.yaml");
  SftJobConfig cfg;
  EXPECT_THAT(cfg.Read(*reader), StatusIs(absl::StatusCode::kInvalidArgument, "unknown key 'train.stepz'"));
  auto missing = ConfigReader::Parse("data: d\nout: o\n", "sft.yaml");
  EXPECT_THAT(SftJobConfig().Read(*missing), StatusIs(absl::StatusCode::kInvalidArgument, "'model' is required"));
  auto schedule = ConfigReader::Parse("model: m\ndata: d\nout: o\ntrain:\n  schedule: step\n", "sft.yaml");
  EXPECT_THAT(SftJobConfig().Read(*schedule), StatusIs(absl::StatusCode::kInvalidArgument, "schedule 'step'"));
}

}  // namespace
}  // namespace rto
