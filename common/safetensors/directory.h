// The weights of an HF model directory: one `model.safetensors`, or shards listed by
// `model.safetensors.index.json` ({"metadata": {...}, "weight_map": {tensor: shard file}}).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/safetensors/safetensors.h"

namespace rto::safetensors {

inline constexpr char kSingleFileName[] = "model.safetensors";
inline constexpr char kIndexFileName[] = "model.safetensors.index.json";

// Every tensor of a directory, validated across files: each index entry names a shard inside
// the directory that holds the tensor, and no tensor is in two places. Immutable.
class Directory {
 public:
  static absl::StatusOr<std::unique_ptr<Directory>> Open(const std::string& dir);

  struct Entry {
    const File* file;
    const TensorInfo* info;
  };
  const std::map<std::string, Entry>& tensors() const { return tensors_; }
  const std::vector<std::unique_ptr<File>>& files() const { return files_; }

 private:
  std::vector<std::unique_ptr<File>> files_;
  std::map<std::string, Entry> tensors_;
};

// Writes tensors as `model.safetensors`, or, when their total exceeds max_shard_bytes > 0, as
// HF-named shards `model-0000i-of-0000n.safetensors` plus the index (written last, so a crash
// leaves no index that points at missing shards). Weight files of the other layout left by an
// earlier save are removed afterwards. Each file is written atomically.
absl::Status WriteDirectory(const std::string& dir, const std::vector<TensorView>& tensors,
                            uint64_t max_shard_bytes = 0);

}  // namespace rto::safetensors
