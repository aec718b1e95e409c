// The call helper: retries of idempotent calls only, and one deadline for all the attempts.
#include "common/rpc/call.h"

#include <chrono>
#include <vector>

#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;
using namespace std::chrono_literals;

TEST(CallTest, IdempotentCallsRetryTransientErrorsAndOthersDoNot) {
  ClientOptions o{.deadline = 10s, .attempts = 3, .backoff = 1ms};
  int calls = 0;
  auto flaky = [&](grpc::ClientContext&) {
    return ++calls < 3 ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "down") : grpc::Status::OK;
  };
  EXPECT_THAT(Call(o, /*idempotent=*/true, "flaky", flaky), IsOk());
  EXPECT_EQ(calls, 3);
  calls = 0;
  EXPECT_THAT(Call(o, /*idempotent=*/false, "train", flaky), StatusIs(absl::StatusCode::kUnavailable, "train"));
  EXPECT_EQ(calls, 1);
  calls = 0;
  auto invalid = [&](grpc::ClientContext&) {
    ++calls;
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad");
  };
  EXPECT_THAT(Call(o, true, "bad", invalid), StatusIs(absl::StatusCode::kInvalidArgument, "bad"));
  EXPECT_EQ(calls, 1);
}

TEST(CallTest, TheDeadlineBoundsAllAttemptsTogether) {
  // Backoffs of 50, 100, 200, ... ms against a 300 ms deadline: at most a few attempts, all
  // carrying the same deadline, and the call ends before the deadline instead of after 20.
  ClientOptions o{.deadline = 300ms, .attempts = 20, .backoff = 50ms};
  std::vector<std::chrono::system_clock::time_point> deadlines;
  const auto start = std::chrono::steady_clock::now();
  absl::Status s = Call(o, true, "down", [&](grpc::ClientContext& context) {
    deadlines.push_back(context.deadline());
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "down");
  });
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable, "down"));
  ASSERT_GE(deadlines.size(), 2u);
  EXPECT_LT(deadlines.size(), 20u);
  for (const auto& d : deadlines) EXPECT_EQ(d, deadlines[0]);
  EXPECT_LT(elapsed, 300ms);
}

}  // namespace
}  // namespace rto
