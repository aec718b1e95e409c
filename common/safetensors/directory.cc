#include "common/safetensors/directory.h"

#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace rto::safetensors {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::map<std::string, std::string> kHfMetadata = {{"format", "pt"}};  // transformers requires it

uint64_t NumBytes(const TensorView& t) {
  uint64_t n = DTypeSize(t.dtype);
  for (int64_t d : t.shape) n *= static_cast<uint64_t>(d);
  return n;
}

bool IsShardName(const std::string& name) {
  return name.rfind("model-", 0) == 0 && name.size() > 12 && name.ends_with(".safetensors");
}

}  // namespace

absl::StatusOr<std::unique_ptr<Directory>> Directory::Open(const std::string& dir) {
  auto d = std::make_unique<Directory>();
  const fs::path single = fs::path(dir) / kSingleFileName;
  const fs::path index = fs::path(dir) / kIndexFileName;
  std::error_code ec;
  if (fs::exists(single, ec)) {
    RTO_ASSIGN_OR_RETURN(auto file, File::Open(single.string()));
    for (const TensorInfo& t : file->tensors()) d->tensors_[t.name] = {file.get(), &t};
    d->files_.push_back(std::move(file));
    return d;
  }
  if (!fs::exists(index, ec)) {
    std::string hint = fs::exists(fs::path(dir) / "pytorch_model.bin", ec)
                           ? " (only pytorch_model.bin is there: convert it to safetensors first)"
                           : "";
    return absl::NotFoundError(absl::StrCat(dir, ": no ", kSingleFileName, " or ", kIndexFileName, hint));
  }

  const std::string index_path = index.string();
  RTO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(index_path));
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(index_path, ": not valid JSON: ", e.what()));
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(index_path, ": missing object 'weight_map'"));
  }
  std::map<std::string, File*> shards;
  for (auto& [tensor, shard] : j["weight_map"].items()) {
    if (!shard.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(index_path, ": weight_map entry of '", tensor, "' is not a file name"));
    }
    std::string name = shard.get<std::string>();
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
      return absl::InvalidArgumentError(absl::StrCat(index_path, ": shard '", name, "' of tensor '", tensor,
                                                     "' is not a plain file name in the directory"));
    }
    if (!shards.count(name)) {
      RTO_ASSIGN_OR_RETURN(auto file, File::Open((fs::path(dir) / name).string()));
      shards[name] = file.get();
      d->files_.push_back(std::move(file));
    }
    const TensorInfo* info = shards[name]->Find(tensor);
    if (info == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(index_path, ": tensor '", tensor, "' is mapped to ", name, ", which does not contain it"));
    }
    d->tensors_[tensor] = {shards[name], info};
  }
  for (const auto& file : d->files_) {
    for (const TensorInfo& t : file->tensors()) {
      const Entry& e = d->tensors_.count(t.name) ? d->tensors_.at(t.name) : Entry{nullptr, nullptr};
      if (e.file != file.get()) {
        return absl::InvalidArgumentError(
            absl::StrCat(file->path(), ": tensor '", t.name, "' is not mapped to this file by ", kIndexFileName));
      }
    }
  }
  return d;
}

absl::Status WriteDirectory(const std::string& dir, const std::vector<TensorView>& tensors, uint64_t max_shard_bytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat(dir, ": cannot create directory: ", ec.message()));

  uint64_t total = 0;
  for (const TensorView& t : tensors) total += NumBytes(t);
  std::set<std::string> written;
  if (max_shard_bytes == 0 || total <= max_shard_bytes) {
    RTO_RETURN_IF_ERROR(Write((fs::path(dir) / kSingleFileName).string(), tensors, kHfMetadata));
    written.insert(kSingleFileName);
  } else {
    // Greedy packing in order; a tensor larger than the limit gets a shard of its own.
    std::vector<std::vector<TensorView>> shards(1);
    uint64_t current = 0;
    for (const TensorView& t : tensors) {
      if (!shards.back().empty() && current + NumBytes(t) > max_shard_bytes) {
        shards.emplace_back();
        current = 0;
      }
      shards.back().push_back(t);
      current += NumBytes(t);
    }
    json weight_map = json::object();
    for (size_t i = 0; i < shards.size(); ++i) {
      std::string name = absl::StrFormat("model-%05d-of-%05d.safetensors", i + 1, shards.size());
      RTO_RETURN_IF_ERROR(Write((fs::path(dir) / name).string(), shards[i], kHfMetadata));
      for (const TensorView& t : shards[i]) weight_map[t.name] = name;
      written.insert(name);
    }
    json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    RTO_RETURN_IF_ERROR(WriteFileAtomically((fs::path(dir) / kIndexFileName).string(), index.dump(2) + "\n"));
    written.insert(kIndexFileName);
  }
  // Remove weights of an earlier save in the other layout, so loading is unambiguous.
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    bool weights = name == kSingleFileName || name == kIndexFileName || IsShardName(name);
    if (weights && !written.count(name)) fs::remove(entry.path(), ec);
  }
  return SyncDirectory(dir);
}

}  // namespace rto::safetensors
