#include "common/train/tensorboard_events.h"

#include <unistd.h>

#include <array>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/util/time.h"

namespace rto {
namespace {

// The protobuf wire format, for the few fields events use.
void Varint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
void Tag(int field, int wire_type, std::string* out) { Varint((static_cast<uint64_t>(field) << 3) | wire_type, out); }
template <typename T>
void LittleEndian(T value, std::string* out) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // x86-64 and aarch64 are little-endian
  out->append(bytes, sizeof(T));
}
void Double(int field, double v, std::string* out) {
  Tag(field, 1, out);
  LittleEndian(v, out);
}
void Float(int field, float v, std::string* out) {
  Tag(field, 5, out);
  LittleEndian(v, out);
}
void Int(int field, int64_t v, std::string* out) {
  Tag(field, 0, out);
  Varint(static_cast<uint64_t>(v), out);
}
void Bytes(int field, absl::string_view v, std::string* out) {
  Tag(field, 2, out);
  Varint(v.size(), out);
  out->append(v.data(), v.size());
}

// Event { wall_time = 1; step = 2; ... }
std::string EventHeader(double wall_time, int64_t step) {
  std::string event;
  Double(1, wall_time, &event);
  Int(2, step, &event);
  return event;
}

const std::array<uint32_t, 256>& Crc32cTable() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;  // reflected Castagnoli
      t[i] = c;
    }
    return t;
  }();
  return table;
}

}  // namespace

uint32_t Crc32c(absl::string_view data) {
  const std::array<uint32_t, 256>& table = Crc32cTable();
  uint32_t crc = 0xffffffffu;
  for (unsigned char byte : data) crc = table[(crc ^ byte) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

uint32_t MaskedCrc32c(absl::string_view data) {
  const uint32_t crc = Crc32c(data);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string TfRecord(absl::string_view data) {
  std::string length;
  LittleEndian(static_cast<uint64_t>(data.size()), &length);
  std::string record = length;
  LittleEndian(MaskedCrc32c(length), &record);
  record.append(data.data(), data.size());
  LittleEndian(MaskedCrc32c(data), &record);
  return record;
}

std::string FileVersionEvent(double wall_time) {
  std::string event = EventHeader(wall_time, 0);
  Bytes(3, "brain.Event:2", &event);
  return event;
}

std::string ScalarsEvent(double wall_time, int64_t step, const std::map<std::string, double>& scalars) {
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string v;  // Summary.Value { tag = 1; simple_value = 2; }
    Bytes(1, tag, &v);
    Float(2, static_cast<float>(value), &v);
    Bytes(1, v, &summary);
  }
  std::string event = EventHeader(wall_time, step);
  Bytes(5, summary, &event);
  return event;
}

std::string SessionStartEvent(double wall_time, int64_t step) {
  std::string session_log;  // SessionLog { status = 1 (START = 1) }
  Int(1, 1, &session_log);
  std::string event = EventHeader(wall_time, step);
  Bytes(7, session_log, &event);
  return event;
}

absl::StatusOr<EventFileWriter> EventFileWriter::Open(const std::string& dir) {
  char host[256] = "localhost";
  ::gethostname(host, sizeof(host) - 1);
  const double now = UnixSecondsNow();
  EventFileWriter w;
  w.path_ = absl::StrCat(dir, "/events.out.tfevents.", static_cast<int64_t>(now), ".", host, ".", ::getpid());
  w.file_ = std::fopen(w.path_.c_str(), "ab");
  if (w.file_ == nullptr) return absl::InternalError(absl::StrCat(w.path_, ": cannot create"));
  if (absl::Status s = w.Write(FileVersionEvent(now)); !s.ok()) return s;
  return w;
}

EventFileWriter::EventFileWriter(EventFileWriter&& o) noexcept : path_(std::move(o.path_)), file_(o.file_) {
  o.file_ = nullptr;
}

EventFileWriter::~EventFileWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status EventFileWriter::Write(absl::string_view event) {
  const std::string record = TfRecord(event);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() || std::fflush(file_) != 0) {
    return absl::InternalError(absl::StrCat(path_, ": write failed"));
  }
  return absl::OkStatus();
}

}  // namespace rto
