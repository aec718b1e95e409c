// TensorBoard's event files, written natively (no TensorFlow or Python): a file
// `events.out.tfevents.<seconds>.<host>.<pid>` of TFRecords, each a little-endian uint64 length,
// the masked CRC-32C of those 8 bytes, the data and the masked CRC-32C of the data; the data is
// a serialized tensorboard `Event` proto (tensorboard/compat/proto/event.proto: wall_time = 1,
// step = 2, file_version = 3, summary = 5, session_log = 7; a Summary's values with tag = 1 and
// simple_value = 2). `tensorboard --logdir RUN_DIR` and its Python reader read them. Torch-free.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rto {

// CRC-32C (Castagnoli), and TFRecord's mask of it: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t Crc32c(absl::string_view data);
uint32_t MaskedCrc32c(absl::string_view data);
// `data` framed as one TFRecord.
std::string TfRecord(absl::string_view data);

// Serialized Event protos. `wall_time` in seconds since the Unix epoch.
std::string FileVersionEvent(double wall_time);  // file_version "brain.Event:2", the first event of a file
std::string ScalarsEvent(double wall_time, int64_t step, const std::map<std::string, double>& scalars);
// SessionLog START at `step`: TensorBoard drops the events of steps >= step logged before it,
// which a resumed or rewound run logs again.
std::string SessionStartEvent(double wall_time, int64_t step);

// Appends events to a new event file in a directory; each write is flushed. Not thread-safe.
class EventFileWriter {
 public:
  static absl::StatusOr<EventFileWriter> Open(const std::string& dir);
  EventFileWriter(EventFileWriter&& other) noexcept;
  EventFileWriter& operator=(EventFileWriter&&) = delete;
  ~EventFileWriter();

  const std::string& path() const { return path_; }
  absl::Status Write(absl::string_view event);

 private:
  EventFileWriter() = default;
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace rto
