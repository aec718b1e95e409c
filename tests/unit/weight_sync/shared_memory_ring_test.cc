// The shared-memory ring between real processes (fork) and threads: bytes arrive whole and in
// order across slots and calls, a dead peer is an error within the deadline, and a segment that
// is not the writer's is refused.
#include "common/weight_sync/shared_memory_ring.h"

#include <sys/wait.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;
using namespace std::chrono_literals;

SharedMemoryRing::Deadline In(std::chrono::milliseconds ms) { return std::chrono::steady_clock::now() + ms; }

// Byte i of message m.
uint8_t Pattern(int m, int64_t i) { return static_cast<uint8_t>((i * 131 + m * 7) ^ (i >> 8)); }

absl::Status WriteMessage(SharedMemoryRing& ring, int m, int64_t total) {
  return ring.Write(
      total,
      [&](uint8_t* dst, int64_t offset, int64_t n) {
        for (int64_t i = 0; i < n; ++i) dst[i] = Pattern(m, offset + i);
      },
      In(10s));
}

// The number of bytes of message m that arrived wrong (or -1 when Read failed).
int64_t ReadMessage(SharedMemoryRing& ring, int m, int64_t total) {
  int64_t wrong = 0, seen = 0;
  absl::Status s = ring.Read(
      total,
      [&](const uint8_t* src, int64_t offset, int64_t n) {
        if (offset != seen) ++wrong;
        for (int64_t i = 0; i < n; ++i) wrong += src[i] != Pattern(m, offset + i);
        seen += n;
      },
      In(10s));
  return s.ok() && seen == total ? wrong : -1;
}

const std::vector<int64_t> kSizes = {0, 1, 1024, 10 * 1024 + 3, 100 * 1024};

TEST(SharedMemoryRingTest, AReaderInAnotherProcessGetsEveryMessageWhole) {
  auto writer = SharedMemoryRing::Create({.slot_bytes = 1024, .slots = 4, .readers = 1});
  ASSERT_THAT(writer, IsOk());
  const std::string name = (*writer)->name();
  const uint64_t nonce = (*writer)->nonce();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto reader = SharedMemoryRing::Open(name, nonce, 0);
    if (!reader.ok()) _exit(2);
    for (size_t m = 0; m < kSizes.size(); ++m) {
      if (ReadMessage(**reader, static_cast<int>(m), kSizes[m]) != 0) _exit(3 + static_cast<int>(m));
    }
    _exit(0);
  }
  for (size_t m = 0; m < kSizes.size(); ++m) {
    EXPECT_THAT(WriteMessage(**writer, static_cast<int>(m), kSizes[m]), IsOk()) << m;
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: could not open; 3+m: message m arrived wrong";
}

TEST(SharedMemoryRingTest, EveryReaderGetsEveryByteWhileTheWriterRunsAhead) {
  auto writer = SharedMemoryRing::Create({.slot_bytes = 64, .slots = 2, .readers = 3});
  ASSERT_THAT(writer, IsOk());
  std::vector<std::vector<int64_t>> wrong(3);
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&, r] {
      auto reader = SharedMemoryRing::Open((*writer)->name(), (*writer)->nonce(), r);
      ASSERT_THAT(reader, IsOk());
      for (int m = 0; m < 50; ++m) wrong[r].push_back(ReadMessage(**reader, m, 64 * (m % 7) + m));
    });
  }
  for (int m = 0; m < 50; ++m) ASSERT_THAT(WriteMessage(**writer, m, 64 * (m % 7) + m), IsOk());
  for (std::thread& t : readers) t.join();
  for (int r = 0; r < 3; ++r) EXPECT_EQ(wrong[r], std::vector<int64_t>(50, 0)) << r;
}

TEST(SharedMemoryRingTest, AReaderThatStopsMakesTheWriterFailWithinTheDeadline) {
  auto writer = SharedMemoryRing::Create({.slot_bytes = 16, .slots = 2, .readers = 1});
  ASSERT_THAT(writer, IsOk());
  auto reader = SharedMemoryRing::Open((*writer)->name(), (*writer)->nonce(), 0);
  ASSERT_THAT(reader, IsOk());  // opened, never reads
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT((*writer)->Write(
                  160, [](uint8_t*, int64_t, int64_t) {}, In(300ms)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, "reader 0"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_THAT((*reader)->Read(
                  0, [](const uint8_t*, int64_t, int64_t) {}, In(10ms)),
              IsOk());
  auto lone = SharedMemoryRing::Create({.slot_bytes = 16, .slots = 2, .readers = 1});
  ASSERT_THAT(lone, IsOk());
  auto waiting = SharedMemoryRing::Open((*lone)->name(), (*lone)->nonce(), 0);
  ASSERT_THAT(waiting, IsOk());
  EXPECT_THAT((*waiting)->Read(
                  16, [](const uint8_t*, int64_t, int64_t) {}, In(200ms)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, "writer published no chunk"));
}

TEST(SharedMemoryRingTest, ASegmentThatIsNotTheWritersIsRefused) {
  auto writer = SharedMemoryRing::Create({.slot_bytes = 16, .slots = 2, .readers = 1});
  ASSERT_THAT(writer, IsOk());
  EXPECT_THAT(SharedMemoryRing::Open((*writer)->name(), (*writer)->nonce() + 1, 0).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, "nonce"));
  EXPECT_THAT(SharedMemoryRing::Open((*writer)->name(), (*writer)->nonce(), 1).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "reader 1"));
  EXPECT_THAT(SharedMemoryRing::Open("/rto-weights-no-such-ring", 1, 0).status(),
              StatusIs(absl::StatusCode::kNotFound, "another host"));
  EXPECT_THAT((*writer)->Read(
                  1, [](const uint8_t*, int64_t, int64_t) {}, In(10ms)),
              StatusIs(absl::StatusCode::kFailedPrecondition, "cannot read"));
  // Once unlinked, nobody new can open it; a reader that has it keeps working.
  auto reader = SharedMemoryRing::Open((*writer)->name(), (*writer)->nonce(), 0);
  ASSERT_THAT(reader, IsOk());
  (*writer)->Unlink();
  EXPECT_THAT(SharedMemoryRing::Open((*writer)->name(), (*writer)->nonce(), 0).status(),
              StatusIs(absl::StatusCode::kNotFound, ""));
  std::thread t([&] { EXPECT_EQ(ReadMessage(**reader, 9, 40), 0); });
  EXPECT_THAT(WriteMessage(**writer, 9, 40), IsOk());
  t.join();
}

TEST(SharedMemoryRingTest, ARingLargerThanDevShmOrMalformedIsRefusedAtCreate) {
  EXPECT_THAT(SharedMemoryRing::Create({.slot_bytes = int64_t{1} << 44, .slots = 2, .readers = 1}).status(),
              StatusIs(absl::StatusCode::kResourceExhausted, "/dev/shm has no room"));
  EXPECT_THAT(SharedMemoryRing::Create({.slot_bytes = 16, .slots = 3, .readers = 1}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "power of two"));
  EXPECT_THAT(SharedMemoryRing::Create({.slot_bytes = 16, .slots = 2, .readers = 0}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "reader"));
}

}  // namespace
}  // namespace rto
