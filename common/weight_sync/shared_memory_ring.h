// A byte stream from one writer to N readers on one host through a ring of slots in a POSIX
// shared-memory segment: the weight broadcast's transport when the learner and every rollout
// worker share a host. The writer copies each byte in once, each reader copies it out once, and
// they work at the same time (the writer fills slot k+1 while the readers drain slot k), so a
// broadcast runs at about memory speed instead of through loopback TCP.
//
// Flow control: the segment holds a counter of chunks written and one of chunks read per reader
// (cumulative, 32 bit, compared modulo 2^32). The writer waits for a slot every reader has
// drained, a reader for a chunk the writer has published; waits sleep on the counters (futex),
// never spin, and end at a deadline, so a dead peer is an error within it, not a hang.
//
// The segment's space is reserved when it is made (posix_fallocate): a /dev/shm too small (64 MB
// in a default Docker container) is an error at Create, never a SIGBUS mid-stream. A reader
// proves it opened the writer's segment by its random nonce: one on another host (or in another
// container) finds no segment of that name or a different nonce, and the group falls back to the
// network. The writer unlinks the name once every reader has it open, so a crash leaks nothing.
//
// Torch-free. One object per process and role; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace rto {

class SharedMemoryRing {
 public:
  struct Layout {
    int64_t slot_bytes = 4 << 20;
    int32_t slots = 8;
    int32_t readers = 1;
  };
  using Deadline = std::chrono::steady_clock::time_point;
  // fill(destination, stream offset, n) writes bytes [offset, offset + n) of the stream;
  // consume(source, stream offset, n) takes them.
  using Fill = std::function<void(uint8_t*, int64_t, int64_t)>;
  using Consume = std::function<void(const uint8_t*, int64_t, int64_t)>;

  // The writer: a new segment with a random name and nonce, its space reserved.
  static absl::StatusOr<std::unique_ptr<SharedMemoryRing>> Create(const Layout& layout);
  // Reader `reader` (0 <= reader < layout.readers) of the writer's segment `name`, which must
  // carry `nonce`.
  static absl::StatusOr<std::unique_ptr<SharedMemoryRing>> Open(const std::string& name, uint64_t nonce, int reader);
  ~SharedMemoryRing();

  const std::string& name() const { return name_; }
  uint64_t nonce() const;
  // Writer: removes the segment's name; the mappings stay valid. Also done by the destructor.
  void Unlink();

  // Writer: streams `total` bytes through the ring and returns once every reader has taken all
  // of them. Every reader must Read the same total, in the same order of calls.
  absl::Status Write(int64_t total, const Fill& fill, Deadline deadline);
  // Reader: takes `total` bytes.
  absl::Status Read(int64_t total, const Consume& consume, Deadline deadline);

 private:
  struct Header;
  SharedMemoryRing(std::string name, void* base, size_t size, int reader);
  uint8_t* Slot(uint32_t sequence) const;
  int64_t Chunks(int64_t total) const;

  std::string name_;
  void* base_;
  size_t size_;
  Header* header_;
  int reader_;               // -1: the writer
  uint32_t next_chunk_ = 0;  // this side's position in the cumulative chunk sequence
  bool linked_ = false;
};

}  // namespace rto
