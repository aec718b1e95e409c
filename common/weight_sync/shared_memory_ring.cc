#include "common/weight_sync/shared_memory_ring.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace rto {
namespace {

constexpr uint64_t kMagic = 0x72746f5f72696e67ull;  // "rto_ring"
constexpr size_t kLine = 64;                        // one counter per cache line
constexpr size_t kPage = 4096;

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

// Counters are cumulative and compared modulo 2^32.
bool AtLeast(uint32_t value, uint32_t target) { return static_cast<int32_t>(value - target) >= 0; }

void Wake(uint32_t* word) { syscall(SYS_futex, word, FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0); }

// Sleeps on *word until it reaches target (true) or the deadline passes (false).
bool WaitAtLeast(uint32_t* word, uint32_t target, SharedMemoryRing::Deadline deadline) {
  for (;;) {
    const uint32_t value = std::atomic_ref<uint32_t>(*word).load(std::memory_order_acquire);
    if (AtLeast(value, target)) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    const auto left = std::min<std::chrono::nanoseconds>(deadline - now, std::chrono::milliseconds(100));
    timespec relative{.tv_sec = static_cast<time_t>(left.count() / 1000000000),
                      .tv_nsec = static_cast<long>(left.count() % 1000000000)};
    // Returns at once if *word is no longer `value`, so a wake between the load and here is not lost.
    syscall(SYS_futex, word, FUTEX_WAIT, value, &relative, nullptr, 0);
  }
}

std::string Errno() { return std::strerror(errno); }

}  // namespace

struct SharedMemoryRing::Header {
  uint64_t magic;
  uint64_t nonce;
  int64_t slot_bytes;
  int32_t slots;
  int32_t readers;
  alignas(kLine) uint32_t written;  // chunks the writer has published
  // Then one cache line per reader holding the chunks it has taken, then the slots.

  uint32_t* read(int reader) {
    return reinterpret_cast<uint32_t*>(reinterpret_cast<char*>(this) + Counters() + kLine * reader);
  }
  static size_t Counters() { return RoundUp(sizeof(Header), kLine); }
  static size_t DataOffset(int32_t readers) { return RoundUp(Counters() + kLine * readers, kPage); }
  static size_t Size(const Layout& l) { return DataOffset(l.readers) + static_cast<size_t>(l.slots) * l.slot_bytes; }
};

SharedMemoryRing::SharedMemoryRing(std::string name, void* base, size_t size, int reader)
    : name_(std::move(name)), base_(base), size_(size), header_(static_cast<Header*>(base)), reader_(reader) {
  linked_ = reader < 0;
}

SharedMemoryRing::~SharedMemoryRing() {
  Unlink();
  munmap(base_, size_);
}

uint64_t SharedMemoryRing::nonce() const { return header_->nonce; }

void SharedMemoryRing::Unlink() {
  if (linked_) shm_unlink(name_.c_str());
  linked_ = false;
}

absl::StatusOr<std::unique_ptr<SharedMemoryRing>> SharedMemoryRing::Create(const Layout& layout) {
  if (layout.slot_bytes < 1 || layout.slots < 2 || (layout.slots & (layout.slots - 1)) != 0 || layout.readers < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("a shared-memory ring needs slot_bytes >= 1, a power of two >= 2 of ",
                     "slots and >= 1 reader, not ", layout.slot_bytes, ", ", layout.slots, ", ", layout.readers));
  }
  std::random_device random;
  const uint64_t nonce = (static_cast<uint64_t>(random()) << 32) ^ random();
  const std::string name = absl::StrFormat("/rto-weights-%d-%016x", getpid(), nonce);
  const size_t size = Header::Size(layout);
  const int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot create shared memory ", name, ": ", Errno()));
  // Reserve the pages now: writing to a sparse segment that /dev/shm cannot back is a SIGBUS.
  if (const int e = posix_fallocate(fd, 0, static_cast<off_t>(size)); e != 0) {
    close(fd);
    shm_unlink(name.c_str());
    return absl::ResourceExhaustedError(
        absl::StrCat("/dev/shm has no room for a ", size >> 20, " MB weight ring (", std::strerror(e), ")"));
  }
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  close(fd);
  if (base == MAP_FAILED) {
    shm_unlink(name.c_str());
    return absl::UnavailableError(absl::StrCat("cannot map shared memory ", name, ": ", Errno()));
  }
  auto* h = static_cast<Header*>(base);
  h->nonce = nonce;
  h->slot_bytes = layout.slot_bytes;
  h->slots = layout.slots;
  h->readers = layout.readers;
  std::atomic_ref<uint64_t>(h->magic).store(kMagic, std::memory_order_release);
  return std::unique_ptr<SharedMemoryRing>(new SharedMemoryRing(name, base, size, -1));
}

absl::StatusOr<std::unique_ptr<SharedMemoryRing>> SharedMemoryRing::Open(const std::string& name, uint64_t nonce,
                                                                         int reader) {
  const int fd = shm_open(name.c_str(), O_RDWR, 0);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat("no shared memory ", name, " here (", Errno(), "): another host?"));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) < Header::DataOffset(1)) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat("shared memory ", name, " is too small for a weight ring"));
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  close(fd);
  if (base == MAP_FAILED) return absl::UnavailableError(absl::StrCat("cannot map shared memory ", name, ": ", Errno()));
  auto ring = std::unique_ptr<SharedMemoryRing>(new SharedMemoryRing(name, base, size, reader));
  Header* h = ring->header_;
  if (std::atomic_ref<uint64_t>(h->magic).load(std::memory_order_acquire) != kMagic || h->nonce != nonce) {
    return absl::FailedPreconditionError(
        absl::StrCat("shared memory ", name, " is not this group's weight ring (magic or nonce differ)"));
  }
  if (h->slot_bytes < 1 || h->slots < 2 || h->readers < 1 ||
      Header::Size({.slot_bytes = h->slot_bytes, .slots = h->slots, .readers = h->readers}) != size) {
    return absl::FailedPreconditionError(absl::StrCat("shared memory ", name, ": its header does not match its size"));
  }
  if (reader < 0 || reader >= h->readers) {
    return absl::InvalidArgumentError(absl::StrCat("reader ", reader, " outside the ring's ", h->readers, " readers"));
  }
  return ring;
}

uint8_t* SharedMemoryRing::Slot(uint32_t sequence) const {
  // slots is a power of two, so sequence % slots is continuous across the 2^32 wrap.
  return static_cast<uint8_t*>(base_) + Header::DataOffset(header_->readers) +
         static_cast<size_t>(sequence % static_cast<uint32_t>(header_->slots)) * header_->slot_bytes;
}

int64_t SharedMemoryRing::Chunks(int64_t total) const {
  return (total + header_->slot_bytes - 1) / header_->slot_bytes;
}

absl::Status SharedMemoryRing::Write(int64_t total, const Fill& fill, Deadline deadline) {
  if (reader_ >= 0) return absl::FailedPreconditionError("a reader of the weight ring cannot write");
  const int64_t chunks = Chunks(total), slot = header_->slot_bytes;
  const uint32_t slots = static_cast<uint32_t>(header_->slots);
  auto wait_readers = [&](uint32_t target, int64_t chunk) -> absl::Status {
    for (int r = 0; r < header_->readers; ++r) {
      if (!WaitAtLeast(header_->read(r), target, deadline)) {
        return absl::DeadlineExceededError(absl::StrCat("weight ring reader ", r, " took no chunk past ", chunk, " of ",
                                                        chunks, " in time (a dead or stuck receiver?)"));
      }
    }
    return absl::OkStatus();
  };
  for (int64_t c = 0; c < chunks; ++c) {
    const uint32_t sequence = next_chunk_ + static_cast<uint32_t>(c);
    if (absl::Status s = wait_readers(sequence + 1 - slots, c); !s.ok()) return s;  // its slot is drained
    const int64_t offset = c * slot;
    fill(Slot(sequence), offset, std::min(slot, total - offset));
    std::atomic_ref<uint32_t>(header_->written).store(sequence + 1, std::memory_order_release);
    Wake(&header_->written);
  }
  next_chunk_ += static_cast<uint32_t>(chunks);
  return wait_readers(next_chunk_, chunks);
}

absl::Status SharedMemoryRing::Read(int64_t total, const Consume& consume, Deadline deadline) {
  if (reader_ < 0) return absl::FailedPreconditionError("the writer of the weight ring cannot read");
  const int64_t chunks = Chunks(total), slot = header_->slot_bytes;
  uint32_t* mine = header_->read(reader_);
  for (int64_t c = 0; c < chunks; ++c) {
    const uint32_t sequence = next_chunk_ + static_cast<uint32_t>(c);
    if (!WaitAtLeast(&header_->written, sequence + 1, deadline)) {
      return absl::DeadlineExceededError(
          absl::StrCat("the weight ring's writer published no chunk ", c, " of ", chunks, " in time"));
    }
    const int64_t offset = c * slot;
    consume(Slot(sequence), offset, std::min(slot, total - offset));
    std::atomic_ref<uint32_t>(*mine).store(sequence + 1, std::memory_order_release);
    Wake(mine);
  }
  next_chunk_ += static_cast<uint32_t>(chunks);
  return absl::OkStatus();
}

}  // namespace rto
