#include "common/util/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  int err = errno;
  std::string message = absl::StrCat(path, ": ", what, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(message);
  if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

std::atomic<FileSystem*> g_file_system{nullptr};

}  // namespace

int FileSystem::Open(const std::string& path, int flags, int mode) { return ::open(path.c_str(), flags, mode); }
ssize_t FileSystem::Write(int fd, const void* data, size_t size) { return ::write(fd, data, size); }
int FileSystem::Fsync(int fd) { return ::fsync(fd); }
int FileSystem::Rename(const std::string& from, const std::string& to) { return ::rename(from.c_str(), to.c_str()); }

FileSystem& FileSystem::Get() {
  static FileSystem* posix = new FileSystem();
  FileSystem* installed = g_file_system.load();
  return installed != nullptr ? *installed : *posix;
}

void FileSystem::SetForTesting(FileSystem* fs) { g_file_system.store(fs); }

absl::StatusOr<std::unique_ptr<MappedFile>> MappedFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    absl::Status status = ErrnoError("cannot stat", path);
    ::close(fd);
    return status;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  size_t size = static_cast<size_t>(st.st_size);
  const uint8_t* data = nullptr;
  if (size > 0) {  // mmap of length 0 is an error; an empty file maps to nothing.
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      absl::Status status = ErrnoError("cannot mmap", path);
      ::close(fd);
      return status;
    }
    data = static_cast<const uint8_t*>(p);
  }
  ::close(fd);  // The mapping keeps the file alive.
  return std::unique_ptr<MappedFile>(new MappedFile(path, data, size));
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  RTO_ASSIGN_OR_RETURN(auto mapped, MappedFile::Open(path));
  return std::string(reinterpret_cast<const char*>(mapped->data()), mapped->size());
}

absl::StatusOr<std::unique_ptr<AtomicFileWriter>> AtomicFileWriter::Create(const std::string& path) {
  std::random_device rd;
  std::string temp_path = absl::StrCat(path, ".tmp-", ::getpid(), "-", rd());
  int fd = FileSystem::Get().Open(temp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", temp_path);
  return std::unique_ptr<AtomicFileWriter>(new AtomicFileWriter(path, temp_path, fd));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_path_.c_str());
  }
}

absl::Status AtomicFileWriter::Append(const void* data, size_t size) {
  if (fd_ < 0) return absl::FailedPreconditionError(absl::StrCat(path_, ": already committed"));
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = FileSystem::Get().Write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write failed", temp_path_);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status AtomicFileWriter::Commit() {
  if (fd_ < 0) return absl::FailedPreconditionError(absl::StrCat(path_, ": already committed"));
  if (FileSystem::Get().Fsync(fd_) != 0) return ErrnoError("fsync failed", temp_path_);
  if (::close(fd_) != 0) {
    fd_ = -1;
    ::unlink(temp_path_.c_str());
    return ErrnoError("close failed", temp_path_);
  }
  fd_ = -1;
  if (FileSystem::Get().Rename(temp_path_, path_) != 0) {
    absl::Status status = ErrnoError("rename failed", path_);
    ::unlink(temp_path_.c_str());
    return status;
  }
  std::string dir = std::filesystem::path(path_).parent_path().string();
  return SyncDirectory(dir.empty() ? "." : dir);
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents) {
  RTO_ASSIGN_OR_RETURN(auto writer, AtomicFileWriter::Create(path));
  RTO_RETURN_IF_ERROR(writer->Append(contents));
  return writer->Commit();
}

absl::Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open directory", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return ErrnoError("fsync failed", dir);
  return absl::OkStatus();
}

absl::Status SyncFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return ErrnoError("fsync failed", path);
  return absl::OkStatus();
}

}  // namespace rto
