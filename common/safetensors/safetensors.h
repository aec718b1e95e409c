// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON mapping tensor names to {dtype, shape, data_offsets}
// (plus an optional "__metadata__" string map), then the raw little-endian tensor bytes.
//
// This library knows bytes, dtypes and shapes only; converting to tensors is the caller's job,
// so it stays free of LibTorch. Every file is validated before any tensor is handed out.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/util/file.h"

namespace rto::safetensors {

enum class DType { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

// "F32", "BF16", ... as spelled in the header.
absl::string_view DTypeName(DType dtype);
absl::StatusOr<DType> ParseDType(absl::string_view name);
size_t DTypeSize(DType dtype);

// The largest header accepted (same bound as the reference implementation).
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data section, [begin, end)
  uint64_t end = 0;
  uint64_t num_bytes() const { return end - begin; }
};

// A validated, memory-mapped safetensors file. Immutable, so safe to share across threads.
class File {
 public:
  static absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path);
  // Parses and validates an in-memory image; `name` is used in error messages only.
  static absl::StatusOr<std::vector<TensorInfo>> ParseHeader(const uint8_t* data, size_t size, const std::string& name,
                                                             std::map<std::string, std::string>* metadata,
                                                             uint64_t* data_start);

  const std::string& path() const { return file_->path(); }
  // In file order (sorted by data offset).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // nullptr when absent.
  const TensorInfo* Find(absl::string_view name) const;
  // The tensor's bytes inside the mapping; valid while this File lives. Not necessarily aligned.
  const uint8_t* Data(const TensorInfo& info) const { return file_->data() + data_start_ + info.begin; }

 private:
  File() = default;
  std::unique_ptr<MappedFile> file_;
  uint64_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// A tensor to be written: its bytes must be contiguous, row-major, little-endian.
struct TensorView {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data;
};

// Writes a safetensors file atomically (temp name, fsync, rename). Tensors are laid out in
// the given order; the header is padded with spaces to a multiple of 8 bytes so every
// tensor's data starts 8-byte aligned, as the reference writer does.
absl::Status Write(const std::string& path, const std::vector<TensorView>& tensors,
                   const std::map<std::string, std::string>& metadata = {});

}  // namespace rto::safetensors
