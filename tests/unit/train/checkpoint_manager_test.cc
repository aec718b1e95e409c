#include "common/train/checkpoint_manager.h"

#include <filesystem>

#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;
using testing::TempDir;
namespace fs = std::filesystem;

absl::Status WriteMarker(const std::string& dir, const std::string& text) {
  testing::WriteFile(dir + "/state.txt", text);
  fs::create_directories(dir + "/model");
  testing::WriteFile(dir + "/model/weights.bin", text + text);
  return absl::OkStatus();
}

TEST(CheckpointManagerTest, SavesListsAndKeepsTheNewestK) {
  TempDir tmp;
  CheckpointManager m(tmp.Join("checkpoints"), /*keep_last=*/2);
  auto none = m.Latest();
  ASSERT_THAT(none, IsOk());
  EXPECT_FALSE(none->has_value());
  for (int64_t step : {10, 20, 30}) {
    ASSERT_THAT(m.Save(step, [&](const std::string& dir) { return WriteMarker(dir, std::to_string(step)); }), IsOk());
  }
  auto all = m.List();
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].step, 20);
  EXPECT_EQ((*all)[1].step, 30);
  EXPECT_EQ(testing::ReadFile((*all)[1].dir + "/state.txt"), "30");
  EXPECT_EQ(testing::ReadFile((*all)[1].dir + "/model/weights.bin"), "3030");
  EXPECT_FALSE(fs::exists(tmp.Join("checkpoints/step-10")));
}

TEST(CheckpointManagerTest, AFailedWriteLeavesThePreviousCheckpointAsTheLatest) {
  TempDir tmp;
  CheckpointManager m(tmp.Join("ckpt"), 3);
  ASSERT_THAT(m.Save(1, [](const std::string& dir) { return WriteMarker(dir, "one"); }), IsOk());
  absl::Status failed = m.Save(2, [](const std::string& dir) {
    testing::WriteFile(dir + "/state.txt", "half");
    return absl::DataLossError("disk full halfway");
  });
  EXPECT_THAT(failed, StatusIs(absl::StatusCode::kDataLoss, "disk full"));
  auto latest = m.Latest();
  ASSERT_THAT(latest, IsOk());
  EXPECT_EQ((*latest)->step, 1);
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.Join("ckpt")), fs::directory_iterator()), 1);
}

TEST(CheckpointManagerTest, ACrashMidWriteIsNeverTakenForACheckpoint) {
  TempDir tmp;
  CheckpointManager m(tmp.Join("ckpt"), 3);
  ASSERT_THAT(m.Save(5, [](const std::string& dir) { return WriteMarker(dir, "five"); }), IsOk());
  // What a process killed while writing step 6 leaves behind: a temporary directory.
  fs::create_directories(tmp.Join("ckpt/.tmp-step-6/model"));
  testing::WriteFile(tmp.Join("ckpt/.tmp-step-6/state.txt"), "partial");
  auto latest = m.Latest();
  ASSERT_THAT(latest, IsOk());
  EXPECT_EQ((*latest)->step, 5);
  // The next save cleans the leftover.
  ASSERT_THAT(m.Save(7, [](const std::string& dir) { return WriteMarker(dir, "seven"); }), IsOk());
  EXPECT_FALSE(fs::exists(tmp.Join("ckpt/.tmp-step-6")));
  EXPECT_EQ((*m.Latest())->step, 7);
}

TEST(CheckpointManagerTest, ResavingAStepReplacesIt) {
  TempDir tmp;
  CheckpointManager m(tmp.Join("ckpt"), 3);
  ASSERT_THAT(m.Save(4, [](const std::string& dir) { return WriteMarker(dir, "old"); }), IsOk());
  ASSERT_THAT(m.Save(4, [](const std::string& dir) { return WriteMarker(dir, "new"); }), IsOk());
  EXPECT_EQ(testing::ReadFile((*m.Latest())->dir + "/state.txt"), "new");
  EXPECT_EQ(m.List()->size(), 1u);
}

}  // namespace
}  // namespace rto
