// Run checkpoints as directories `<root>/step-N/`, written so that a crash never leaves a
// half checkpoint that resume would take: the content goes to a temporary directory, every
// file and the directory are fsynced, and only then is it renamed to step-N (rename is atomic).
// The newest K are kept. Torch-free: what goes inside is the caller's `write` callback.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rto {

struct CheckpointRef {
  int64_t step;
  std::string dir;
};

class CheckpointManager {
 public:
  // keep_last >= 1.
  CheckpointManager(std::string root, int keep_last) : root_(std::move(root)), keep_last_(keep_last) {}

  // Creates a temporary directory, calls write(dir) to fill it, makes it durable and renames it
  // to step-N. On any error the temporary directory is removed and the previous checkpoints
  // stay as they were. Leftovers of an earlier crash are cleaned first.
  absl::Status Save(int64_t step, const std::function<absl::Status(const std::string& dir)>& write);

  // The complete checkpoints, oldest first. Temporary directories are never listed.
  absl::StatusOr<std::vector<CheckpointRef>> List() const;
  // The newest complete checkpoint, or nullopt when there is none.
  absl::StatusOr<std::optional<CheckpointRef>> Latest() const;
  // Restores the newest complete checkpoint through `restore(dir)`; false when there is none.
  absl::StatusOr<bool> RestoreLatest(const std::function<absl::Status(const std::string& dir)>& restore) const;

 private:
  std::string root_;
  int keep_last_;
};

}  // namespace rto
