#include "common/runtime/threads.h"

#include <ATen/Parallel.h>

#include "common/config/config.h"
#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;

absl::StatusOr<ThreadPlan> Read(const std::string& yaml) {
  auto config = ConfigReader::Parse(yaml, "job.yaml");
  if (!config.ok()) return config.status();
  ThreadPlan plan;
  if (absl::Status s = ReadThreadPlan(*config, &plan); !s.ok()) return s;
  return plan;
}

TEST(ThreadPlanTest, CoresAreDividedAmongProcessesAndEachGetsOne) {
  EXPECT_EQ(CoresPerProcess(16, 5), 3);
  EXPECT_EQ(CoresPerProcess(2, 5), 1);
  EXPECT_EQ(CoresPerProcess(8, 1), 8);
  EXPECT_EQ(CoresPerProcess(8, 0), 8);
  EXPECT_GE(AvailableCores(), 1);
}

TEST(ThreadPlanTest, ReadsTheConfigAndRejectsImpossibleCounts) {
  auto plan = Read("threads:\n  intra_op: 3\n  inter_op: 2\n");
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->intra_op, 3);
  EXPECT_EQ(plan->inter_op, 2);
  auto defaults = Read("other: 1\n");
  ASSERT_THAT(defaults, IsOk());
  EXPECT_EQ(defaults->intra_op, 0);
  EXPECT_EQ(defaults->inter_op, 1);
  EXPECT_THAT(Read("threads:\n  intra_op: -1\n"), StatusIs(absl::StatusCode::kInvalidArgument, "threads."));
  EXPECT_THAT(Read("threads:\n  inter_op: 0\n"), StatusIs(absl::StatusCode::kInvalidArgument, "threads."));
  EXPECT_THAT(Read("threads:\n  intra_op: many\n"), StatusIs(absl::StatusCode::kInvalidArgument, "threads."));
}

TEST(ThreadPlanTest, AppliesTheCountToLibTorch) {
  EXPECT_EQ(ApplyThreadPlan({.intra_op = 1}), 1);
  EXPECT_EQ(at::get_num_threads(), 1);
  // Auto: this process's share, here of a thousand processes: one thread.
  EXPECT_EQ(ApplyThreadPlan({}, 1000), 1);
  EXPECT_EQ(ApplyThreadPlan({}), AvailableCores());
  EXPECT_EQ(at::get_num_threads(), AvailableCores());
}

}  // namespace
}  // namespace rto
