#include "common/util/file.h"

#include <filesystem>

#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;
using testing::TempDir;

int CountEntries(const std::string& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(MappedFileTest, MapsContentsAndEmptyFiles) {
  TempDir tmp;
  testing::WriteFile(tmp.Join("a"), "hello");
  testing::WriteFile(tmp.Join("empty"), "");
  auto a = MappedFile::Open(tmp.Join("a"));
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>((*a)->data()), (*a)->size()), "hello");
  auto empty = MappedFile::Open(tmp.Join("empty"));
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ((*empty)->size(), 0u);
}

TEST(MappedFileTest, MissingFileAndDirectoryAreErrors) {
  TempDir tmp;
  EXPECT_THAT(MappedFile::Open(tmp.Join("nope")), StatusIs(absl::StatusCode::kNotFound, "nope"));
  EXPECT_THAT(MappedFile::Open(tmp.path()), StatusIs(absl::StatusCode::kInvalidArgument, "not a regular file"));
}

TEST(AtomicFileWriterTest, CommitReplacesTheFileWhole) {
  TempDir tmp;
  const std::string path = tmp.Join("f");
  testing::WriteFile(path, "old");
  ASSERT_THAT(WriteFileAtomically(path, "new contents"), IsOk());
  EXPECT_EQ(testing::ReadFile(path), "new contents");
  EXPECT_EQ(CountEntries(tmp.path()), 1);  // no temporary left behind
}

TEST(AtomicFileWriterTest, AbandonedWriteLeavesTheOldFileAndNoTemp) {
  TempDir tmp;
  const std::string path = tmp.Join("f");
  testing::WriteFile(path, "old");
  {
    auto writer = AtomicFileWriter::Create(path);
    ASSERT_THAT(writer, IsOk());
    ASSERT_THAT((*writer)->Append("half of the new"), IsOk());
    EXPECT_EQ(CountEntries(tmp.path()), 2);  // the temp file exists while writing
    // Destroyed without Commit: what a crash mid-write amounts to.
  }
  EXPECT_EQ(testing::ReadFile(path), "old");
  EXPECT_EQ(CountEntries(tmp.path()), 1);
}

TEST(AtomicFileWriterTest, CommitTwiceIsAnError) {
  TempDir tmp;
  auto writer = AtomicFileWriter::Create(tmp.Join("f"));
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Commit(), IsOk());
  EXPECT_THAT((*writer)->Commit(), StatusIs(absl::StatusCode::kFailedPrecondition, "already committed"));
  EXPECT_THAT((*writer)->Append("x"), StatusIs(absl::StatusCode::kFailedPrecondition, "already committed"));
}

TEST(AtomicFileWriterTest, MissingDirectoryIsAnError) {
  TempDir tmp;
  EXPECT_THAT(WriteFileAtomically(tmp.Join("no/such/dir/f"), "x"),
              StatusIs(absl::StatusCode::kNotFound, "cannot create"));
}

}  // namespace
}  // namespace rto
