// A run's directory (DESIGN.md section 6): the resolved config, metrics.jsonl with one JSON
// object per step (flushed line by line, so a crash loses at most the line being written), the
// same scalars as TensorBoard event files (events.out.tfevents.*), checkpoints/, and
// summary.json at the end. Progress goes to stderr: a live line on a terminal,
// plain log lines otherwise. Torch-free. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/train/tensorboard_events.h"

namespace rto {

class RunDirectory {
 public:
  // Creates `dir` (and checkpoints/) and writes config.yaml. With `resume`, metrics.jsonl is
  // appended to; otherwise a run directory that already holds metrics is an error, so a new run
  // never mixes with an old one.
  static absl::StatusOr<RunDirectory> Open(const std::string& dir, const std::string& resolved_config, bool resume);
  RunDirectory(RunDirectory&& other) noexcept;
  ~RunDirectory();

  const std::string& dir() const { return dir_; }
  std::string checkpoints() const { return dir_ + "/checkpoints"; }

  // On resume from the checkpoint of `step`: drops the metrics of steps >= step, which the
  // interrupted run logged after that checkpoint and the resumed run is about to log again (in
  // the event files, a SessionLog START at `step` tells TensorBoard to drop them).
  absl::Status ForgetStepsFrom(int64_t step);

  // Appends {"step": step, ...metrics} to metrics.jsonl and reports progress.
  absl::Status LogStep(int64_t step, int64_t total_steps, const std::map<std::string, double>& metrics);
  // The metrics shown on the progress line, when present.
  void set_progress_keys(std::vector<std::string> keys) { progress_keys_ = std::move(keys); }
  absl::Status WriteSummary(const std::map<std::string, double>& summary);

 private:
  RunDirectory() = default;
  std::string dir_;
  std::FILE* metrics_ = nullptr;
  std::optional<EventFileWriter> events_;
  bool tty_ = false;
  std::chrono::steady_clock::time_point start_;
  int64_t first_step_ = -1;
  std::vector<std::string> progress_keys_ = {"loss", "lr", "tokens_per_s"};
};

}  // namespace rto
