#include "common/train/tensorboard_events.h"

#include <cstring>
#include <filesystem>

#include "common/train/run_dir.h"
#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;

uint32_t U32(const std::string& s, size_t at) {
  uint32_t v = 0;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}
uint64_t U64(const std::string& s, size_t at) {
  uint64_t v = 0;
  std::memcpy(&v, s.data() + at, 8);
  return v;
}

// The records of an event file, each checked against its CRCs.
std::vector<std::string> Records(const std::string& file) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at + 12 <= file.size()) {
    const uint64_t n = U64(file, at);
    EXPECT_EQ(U32(file, at + 8), MaskedCrc32c(file.substr(at, 8)));
    EXPECT_LE(at + 12 + n + 4, file.size());
    const std::string data = file.substr(at + 12, n);
    EXPECT_EQ(U32(file, at + 12 + n), MaskedCrc32c(data));
    out.push_back(data);
    at += 12 + n + 4;
  }
  EXPECT_EQ(at, file.size());
  return out;
}

TEST(TensorBoardEventsTest, Crc32cIsCastagnoliAndTheMaskIsTfRecords) {
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32c("123456789"), 0xe3069283u);            // the CRC-32C check value
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8a9136aau);  // RFC 3720 B.4
  EXPECT_EQ(MaskedCrc32c(""), 0xa282ead8u);
  const std::string r = TfRecord("abc");
  ASSERT_EQ(r.size(), 8u + 4 + 3 + 4);
  EXPECT_EQ(U64(r, 0), 3u);
  EXPECT_EQ(r.substr(12, 3), "abc");
  EXPECT_EQ(U32(r, 15), MaskedCrc32c("abc"));
}

TEST(TensorBoardEventsTest, AScalarEventIsTheProtoByteForByte) {
  // Event{wall_time: 1.5, step: 3, summary{value{tag: "a", simple_value: 2}}}, worked by hand.
  const std::string expected(
      "\x09\x00\x00\x00\x00\x00\x00\xf8\x3f"  // 1: double 1.5
      "\x10\x03"                              // 2: step 3
      "\x2a\x0a"                              // 5: Summary, 10 bytes
      "\x0a\x08"                              //   1: Value, 8 bytes
      "\x0a\x01\x61"                          //     1: tag "a"
      "\x15\x00\x00\x00\x40",                 //     2: float 2.0
      23);
  EXPECT_EQ(ScalarsEvent(1.5, 3, {{"a", 2.0}}), expected);
  // SessionLog{status: START} at step 300 (a two-byte varint).
  EXPECT_EQ(SessionStartEvent(0, 300), std::string("\x09\0\0\0\0\0\0\0\0\x10\xac\x02\x3a\x02\x08\x01", 16));
}

TEST(TensorBoardEventsTest, ARunDirectoryLogsEveryStepAsEventsAndARewindAsASessionStart) {
  testing::TempDir tmp;
  const std::string dir = tmp.Join("run");
  {
    absl::StatusOr<RunDirectory> run = RunDirectory::Open(dir, "x: 1\n", false);
    ASSERT_THAT(run, IsOk());
    ASSERT_THAT(run->LogStep(0, 3, {{"loss", 1.0}, {"reward/rm_score", 0.5}}), IsOk());
    ASSERT_THAT(run->LogStep(1, 3, {{"loss", 0.5}}), IsOk());
    ASSERT_THAT(run->ForgetStepsFrom(1), IsOk());
  }
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) files.push_back(e.path().string());
  }
  ASSERT_EQ(files.size(), 1u);
  const std::vector<std::string> records = Records(testing::ReadFile(files[0]));
  ASSERT_EQ(records.size(), 4u);  // file_version, step 0, step 1, START at 1
  EXPECT_NE(records[0].find("brain.Event:2"), std::string::npos);
  EXPECT_NE(records[1].find("reward/rm_score"), std::string::npos);
  EXPECT_EQ(records[3].substr(9), std::string("\x10\x01\x3a\x02\x08\x01", 6));
}

}  // namespace
}  // namespace rto
