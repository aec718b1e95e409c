// Files: read-only memory maps, whole-file reads, and crash-safe (atomic) writes.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rto {

// A read-only memory map of a whole file. Immutable after Open, so safe to share across threads.
class MappedFile {
 public:
  static absl::StatusOr<std::unique_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size) : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  const uint8_t* data_;
  size_t size_;
};

absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// The file-system calls behind every write of this file (and so of every checkpoint, model and
// metrics file rto writes): a seam for fault injection, as LevelDB's Env. The default is POSIX;
// a test installs one that fails chosen calls (a full disk, a permission) the way POSIX fails:
// -1 with errno set. Thread-safe (the default's calls are).
class FileSystem {
 public:
  virtual ~FileSystem() = default;
  virtual int Open(const std::string& path, int flags, int mode);
  virtual ssize_t Write(int fd, const void* data, size_t size);
  virtual int Fsync(int fd);
  virtual int Rename(const std::string& from, const std::string& to);

  // The one the writers use.
  static FileSystem& Get();
  // Installs `fs` (null: the default again). REQUIRES: no write in flight; `fs` outlives its
  // installation. For tests.
  static void SetForTesting(FileSystem* fs);
};

// Writes a file so that a crash leaves either the old file or the complete new one, never a
// partial one: data goes to a temporary name in the same directory, is fsynced, renamed over
// `path`, and the directory is fsynced. A writer destroyed without Commit() removes its temp file.
// Not thread-safe.
class AtomicFileWriter {
 public:
  static absl::StatusOr<std::unique_ptr<AtomicFileWriter>> Create(const std::string& path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  absl::Status Append(const void* data, size_t size);
  absl::Status Append(absl::string_view data) { return Append(data.data(), data.size()); }
  absl::Status Commit();

 private:
  AtomicFileWriter(std::string path, std::string temp_path, int fd)
      : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd) {}
  std::string path_;
  std::string temp_path_;
  int fd_;
};

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents);

// fsyncs a directory so that renames and creations inside it survive a crash.
absl::Status SyncDirectory(const std::string& dir);
// fsyncs a file's data to disk.
absl::Status SyncFile(const std::string& path);

}  // namespace rto
