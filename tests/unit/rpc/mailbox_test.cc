#include "common/rpc/mailbox.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;
using namespace std::chrono_literals;

TEST(MailboxTest, RunsWorkInOrderOnOneThread) {
  Mailbox box(8);
  std::vector<std::thread::id> threads;
  std::vector<int> order;
  for (int i = 0; i < 4; ++i) {
    auto r = box.Call<int>([&, i]() -> absl::StatusOr<int> {
      threads.push_back(std::this_thread::get_id());
      order.push_back(i);
      return i * 10;
    });
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(*r, i * 10);
  }
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  for (const auto& id : threads) {
    EXPECT_EQ(id, threads[0]);
    EXPECT_NE(id, std::this_thread::get_id());
  }
}

TEST(MailboxTest, AFullMailboxRefusesAtOnceAndKeepsServing) {
  Mailbox box(2);
  std::atomic<bool> release{false};
  auto slow = [&]() -> absl::StatusOr<int> {
    while (!release) std::this_thread::sleep_for(1ms);
    return 1;
  };
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 2; ++i) {
    callers.emplace_back([&] {
      if (box.Call<int>(slow).ok()) ++ok;
    });
  }
  while (box.depth() < 2) std::this_thread::sleep_for(1ms);
  EXPECT_THAT(box.Call<int>(slow).status(), StatusIs(absl::StatusCode::kResourceExhausted, "mailbox is full (2"));
  release = true;
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(box.depth(), 0);
  EXPECT_THAT(box.Call<int>([]() -> absl::StatusOr<int> { return 5; }), IsOk());
}

// Weight sync and checkpoints must not wait behind (or be refused by) a full lane of generation
// work: the flood test found a broadcast that timed out so.
TEST(MailboxTest, ControlWorkIsServedBeforeQueuedWorkAndNotRefusedByAFullWorkLane) {
  Mailbox box(2);
  std::atomic<bool> release{false}, started{false};
  std::mutex order_mu;
  std::vector<std::string> order;
  auto job = [&](std::string name, bool block) {
    return [&, name, block]() -> absl::StatusOr<int> {
      if (block) started = true;
      while (block && !release) std::this_thread::sleep_for(1ms);
      std::lock_guard<std::mutex> lock(order_mu);
      order.push_back(name);
      return 1;
    };
  };
  std::vector<std::thread> callers;
  callers.emplace_back([&] { EXPECT_THAT(box.Call<int>(job("running", true)), IsOk()); });
  while (!started) std::this_thread::sleep_for(1ms);  // running, not just queued
  callers.emplace_back([&] { EXPECT_THAT(box.Call<int>(job("queued work", false)), IsOk()); });
  while (box.depth() < 2) std::this_thread::sleep_for(1ms);
  EXPECT_THAT(box.Call<int>(job("refused", false)).status(), StatusIs(absl::StatusCode::kResourceExhausted, ""));
  callers.emplace_back([&] {
    EXPECT_THAT(box.Call<int>(Mailbox::Deadline::max(), job("control", false), Mailbox::Lane::kControl), IsOk());
  });
  while (box.depth() < 3) std::this_thread::sleep_for(1ms);
  release = true;
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(order, (std::vector<std::string>{"running", "control", "queued work"}));
  // The control lane has a bound of its own.
  release = false;
  started = false;
  std::vector<std::thread> control;
  control.emplace_back([&] { (void)box.Call<int>(job("blocker", true)); });
  while (!started) std::this_thread::sleep_for(1ms);
  for (int i = 0; i < Mailbox::kControlCapacity; ++i) {
    control.emplace_back(
        [&] { (void)box.Call<int>(Mailbox::Deadline::max(), job("c", false), Mailbox::Lane::kControl); });
  }
  while (box.depth() < 1 + Mailbox::kControlCapacity) std::this_thread::sleep_for(1ms);
  EXPECT_THAT(box.Call<int>(Mailbox::Deadline::max(), job("c", false), Mailbox::Lane::kControl).status(),
              StatusIs(absl::StatusCode::kResourceExhausted, "control lane is full (4"));
  release = true;
  for (std::thread& t : control) t.join();
}

TEST(MailboxTest, ACallerThatWaitsForItsAnswerIsNeverRefused) {
  Mailbox box(1);  // one slot: each call must free it before answering
  for (int i = 0; i < 2000; ++i) {
    ASSERT_THAT(box.Call<int>([i]() -> absl::StatusOr<int> { return i; }), IsOk()) << i;
  }
}

TEST(MailboxTest, ErrorsAndExceptionsComeBackAsStatuses) {
  Mailbox box(1);
  EXPECT_THAT(box.Call<int>([]() -> absl::StatusOr<int> { return absl::InvalidArgumentError("bad shape"); }).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "bad shape"));
  EXPECT_THAT(box.Call<int>([]() -> absl::StatusOr<int> { throw std::runtime_error("boom"); }).status(),
              StatusIs(absl::StatusCode::kInternal, "the actor failed: boom"));
  EXPECT_THAT(box.Call<int>([]() -> absl::StatusOr<int> { return 1; }), IsOk());
}

TEST(MailboxTest, WorkWhoseCallerGaveUpIsNotRun) {
  Mailbox box(2);
  std::atomic<bool> release{false}, late_ran{false};
  std::thread busy([&] {
    (void)box.Call<int>([&]() -> absl::StatusOr<int> {
      while (!release) std::this_thread::sleep_for(1ms);
      return 0;
    });
  });
  while (box.depth() < 1) std::this_thread::sleep_for(1ms);
  std::thread releaser([&] {
    std::this_thread::sleep_for(100ms);
    release = true;
  });
  // Its deadline passes while it waits behind the busy work.
  const auto deadline = std::chrono::system_clock::now() + 20ms;
  EXPECT_THAT(box.Call<int>(deadline,
                            [&]() -> absl::StatusOr<int> {
                              late_ran = true;
                              return 1;
                            })
                  .status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded, "waited in the mailbox"));
  EXPECT_FALSE(late_ran);
  releaser.join();
  busy.join();
  EXPECT_THAT(box.Call<int>(std::chrono::system_clock::now() + 10s, []() -> absl::StatusOr<int> { return 2; }), IsOk());
}

}  // namespace
}  // namespace rto
