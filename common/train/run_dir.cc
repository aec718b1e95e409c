#include "common/train/run_dir.h"

#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "common/util/time.h"
#include "nlohmann/json.hpp"

namespace rto {

absl::StatusOr<RunDirectory> RunDirectory::Open(const std::string& dir, const std::string& resolved_config,
                                                bool resume) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string metrics_path = dir + "/metrics.jsonl";
  if (!resume && fs::exists(metrics_path, ec)) {
    return absl::AlreadyExistsError(absl::StrCat(
        dir, ": holds an earlier run (metrics.jsonl); pass --resume to continue it or choose another out"));
  }
  fs::create_directories(dir + "/checkpoints", ec);
  if (ec) return absl::InternalError(absl::StrCat(dir, ": cannot create: ", ec.message()));
  RTO_RETURN_IF_ERROR(WriteFileAtomically(dir + "/config.yaml", resolved_config));
  RunDirectory r;
  r.dir_ = dir;
  r.metrics_ = std::fopen(metrics_path.c_str(), "a");
  if (r.metrics_ == nullptr) return absl::InternalError(absl::StrCat(metrics_path, ": cannot open for appending"));
  RTO_ASSIGN_OR_RETURN(EventFileWriter events, EventFileWriter::Open(dir));
  r.events_.emplace(std::move(events));
  r.tty_ = ::isatty(STDERR_FILENO) == 1;
  r.start_ = std::chrono::steady_clock::now();
  return r;
}

RunDirectory::RunDirectory(RunDirectory&& o) noexcept
    : dir_(std::move(o.dir_)),
      metrics_(o.metrics_),
      events_(std::move(o.events_)),
      tty_(o.tty_),
      start_(o.start_),
      first_step_(o.first_step_) {
  o.metrics_ = nullptr;
}

RunDirectory::~RunDirectory() {
  if (metrics_ != nullptr) std::fclose(metrics_);
}

absl::Status RunDirectory::ForgetStepsFrom(int64_t step) {
  const std::string path = dir_ + "/metrics.jsonl";
  RTO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  std::string kept;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(begin, end - begin);
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    // A torn last line (a crash mid-write) is not valid JSON and goes too.
    if (j.is_object() && j.contains("step") && j["step"].is_number_integer() && j["step"].get<int64_t>() < step) {
      kept += line + "\n";
    }
    begin = end + 1;
  }
  std::fclose(metrics_);
  metrics_ = nullptr;
  RTO_RETURN_IF_ERROR(WriteFileAtomically(path, kept));
  metrics_ = std::fopen(path.c_str(), "a");
  if (metrics_ == nullptr) return absl::InternalError(absl::StrCat(path, ": cannot open for appending"));
  return events_->Write(SessionStartEvent(UnixSecondsNow(), step));
}

absl::Status RunDirectory::LogStep(int64_t step, int64_t total_steps, const std::map<std::string, double>& metrics) {
  nlohmann::json line = {{"step", step}};
  for (const auto& [k, v] : metrics) line[k] = v;
  std::string text = line.dump() + "\n";
  if (std::fwrite(text.data(), 1, text.size(), metrics_) != text.size() || std::fflush(metrics_) != 0) {
    return absl::InternalError(absl::StrCat(dir_, "/metrics.jsonl: write failed"));
  }
  RTO_RETURN_IF_ERROR(events_->Write(ScalarsEvent(UnixSecondsNow(), step, metrics)));
  if (first_step_ < 0) first_step_ = step;
  const double elapsed = SecondsSince(start_);
  const double per_step = elapsed / static_cast<double>(step - first_step_ + 1);
  const double eta = per_step * static_cast<double>(total_steps - step - 1);
  std::string progress = absl::StrFormat("step %d/%d", step + 1, total_steps);
  for (const std::string& key : progress_keys_) {
    if (metrics.count(key)) absl::StrAppendFormat(&progress, "  %s %.4g", key, metrics.at(key));
  }
  absl::StrAppendFormat(&progress, "  eta %.0fs", eta);
  if (tty_) {
    std::fprintf(stderr, "\r%s\x1b[K", progress.c_str());
    if (step + 1 == total_steps) std::fprintf(stderr, "\n");
    std::fflush(stderr);  // stderr may be line-buffered (WriteLogLinesWhole)
  } else {
    std::fprintf(stderr, "%s\n", progress.c_str());
  }
  return absl::OkStatus();
}

absl::Status RunDirectory::WriteSummary(const std::map<std::string, double>& summary) {
  nlohmann::json j = summary;
  return WriteFileAtomically(dir_ + "/summary.json", j.dump(2) + "\n");
}

}  // namespace rto
