#include "common/train/checkpoint_manager.h"

#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

namespace fs = std::filesystem;
constexpr char kPrefix[] = "step-";
constexpr char kTempPrefix[] = ".tmp-step-";

absl::Status FsError(absl::string_view what, const fs::path& path, const std::error_code& ec) {
  return absl::InternalError(absl::StrCat(path.string(), ": ", what, ": ", ec.message()));
}

// fsyncs every regular file and directory below `dir`, then `dir` itself.
absl::Status SyncTree(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file()) {
      RTO_RETURN_IF_ERROR(SyncFile(entry.path().string()));
    } else if (entry.is_directory()) {
      RTO_RETURN_IF_ERROR(SyncDirectory(entry.path().string()));
    }
  }
  if (ec) return FsError("cannot walk", dir, ec);
  return SyncDirectory(dir.string());
}

}  // namespace

absl::Status CheckpointManager::Save(int64_t step, const std::function<absl::Status(const std::string&)>& write) {
  if (step < 0) return absl::InvalidArgumentError("checkpoint step must be >= 0");
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) return FsError("cannot create", root_, ec);
  // Leftovers of a crash mid-write are never a checkpoint; remove them.
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    if (entry.path().filename().string().rfind(kTempPrefix, 0) == 0) fs::remove_all(entry.path(), ec);
  }
  const fs::path temp = fs::path(root_) / absl::StrCat(kTempPrefix, step);
  const fs::path final_dir = fs::path(root_) / absl::StrCat(kPrefix, step);
  fs::create_directories(temp, ec);
  if (ec) return FsError("cannot create", temp, ec);
  absl::Status status = write(temp.string());
  if (status.ok()) status = SyncTree(temp);
  if (status.ok() && fs::exists(final_dir, ec)) fs::remove_all(final_dir, ec);  // re-saving a step replaces it
  if (status.ok()) {
    fs::rename(temp, final_dir, ec);
    if (ec) status = FsError("cannot rename into place", final_dir, ec);
  }
  if (status.ok()) status = SyncDirectory(root_);
  if (!status.ok()) {
    fs::remove_all(temp, ec);
    return status;
  }
  RTO_ASSIGN_OR_RETURN(std::vector<CheckpointRef> all, List());
  for (size_t i = 0; i + keep_last_ < all.size(); ++i) fs::remove_all(all[i].dir, ec);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<CheckpointRef>> CheckpointManager::List() const {
  std::vector<CheckpointRef> out;
  std::error_code ec;
  if (!fs::exists(root_, ec)) return out;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    std::string name = entry.path().filename().string();
    int64_t step;
    if (entry.is_directory() && name.rfind(kPrefix, 0) == 0 && absl::SimpleAtoi(name.substr(5), &step)) {
      out.push_back({step, entry.path().string()});
    }
  }
  if (ec) return FsError("cannot list", root_, ec);
  std::sort(out.begin(), out.end(), [](const CheckpointRef& a, const CheckpointRef& b) { return a.step < b.step; });
  return out;
}

absl::StatusOr<std::optional<CheckpointRef>> CheckpointManager::Latest() const {
  RTO_ASSIGN_OR_RETURN(std::vector<CheckpointRef> all, List());
  if (all.empty()) return std::optional<CheckpointRef>();
  return std::optional<CheckpointRef>(all.back());
}

absl::StatusOr<bool> CheckpointManager::RestoreLatest(
    const std::function<absl::Status(const std::string& dir)>& restore) const {
  RTO_ASSIGN_OR_RETURN(std::optional<CheckpointRef> latest, Latest());
  if (!latest) return false;
  RTO_RETURN_IF_ERROR(restore(latest->dir));
  return true;
}

}  // namespace rto
