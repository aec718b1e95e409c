#include "common/train/model_state.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/model/checkpoint.h"
#include "common/safetensors/safetensors.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"

namespace rto {

namespace fs = std::filesystem;
namespace st = rto::safetensors;

std::vector<at::Tensor> TrainableParameters(Transformer& model) {
  std::vector<at::Tensor> out;
  for (const NamedParameter& p : model.parameters()) out.push_back(p.tensor.set_requires_grad(true));
  return out;
}

std::vector<bool> DecayFlags(const Transformer& model) {
  std::vector<bool> out;
  for (const NamedParameter& p : model.parameters()) out.push_back(DefaultDecay(p.name));
  return out;
}

absl::Status SaveModelWithTokenizer(const Transformer& model, const std::string& dir,
                                    const std::string& tokenizer_dir) {
  RTO_RETURN_IF_ERROR(SaveModel(model, dir));
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "tokenizer.model"}) {
    const fs::path from = fs::path(tokenizer_dir) / name;
    std::error_code ec;
    if (!fs::exists(from, ec)) continue;
    RTO_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(from.string()));
    RTO_RETURN_IF_ERROR(WriteFileAtomically((fs::path(dir) / name).string(), bytes));
  }
  return absl::OkStatus();
}

absl::Status RestoreWeights(Transformer& model, const std::string& dir) {
  RTO_ASSIGN_OR_RETURN(auto saved, LoadModel(dir, {.dtype = model.dtype(), .head = model.config().head}));
  if (saved->parameters().size() != model.parameters().size()) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": does not match the model being trained"));
  }
  c10::NoGradGuard no_grad;
  for (size_t i = 0; i < model.parameters().size(); ++i) {
    const at::Tensor& to = model.parameters()[i].tensor;
    const at::Tensor& from = saved->parameters()[i].tensor;
    if (!to.sizes().equals(from.sizes())) {
      return absl::InvalidArgumentError(
          absl::StrCat(dir, ": '", model.parameters()[i].name, "' does not match the model being trained"));
    }
    to.copy_(from);
  }
  return absl::OkStatus();
}

absl::Status SaveOptimizer(const AdamW& optimizer, const std::string& path) {
  std::vector<st::TensorView> views;
  std::vector<at::Tensor> keep;
  for (const auto& [name, t] : optimizer.State()) {
    keep.push_back(t.detach().to(at::kCPU).contiguous());
    views.push_back({name, st::DType::kF32, keep.back().sizes().vec(), keep.back().data_ptr()});
  }
  return st::Write(path, views);
}

absl::Status RestoreOptimizer(AdamW& optimizer, const std::vector<std::string>& paths, int64_t steps) {
  std::vector<std::unique_ptr<st::File>> files;
  for (const std::string& path : paths) {
    RTO_ASSIGN_OR_RETURN(auto file, st::File::Open(path));
    files.push_back(std::move(file));
  }
  std::vector<std::pair<std::string, at::Tensor>> moments;
  for (const auto& [name, t] : optimizer.State()) {
    const st::File* in = nullptr;
    const st::TensorInfo* info = nullptr;
    for (const auto& file : files) {
      if ((info = file->Find(name)) != nullptr) {
        in = file.get();
        break;
      }
    }
    const std::string where = paths.size() == 1 ? paths[0] : absl::StrCat(paths.size(), " shards ", paths[0], "...");
    if (info == nullptr) return absl::InvalidArgumentError(absl::StrCat(where, ": '", name, "' is missing"));
    if (info->dtype != st::DType::kF32 || !t.sizes().equals(info->shape)) {
      return absl::InvalidArgumentError(absl::StrCat(in->path(), ": '", name, "' has the wrong dtype or shape"));
    }
    at::Tensor copy = at::empty(info->shape, at::kFloat);
    std::memcpy(copy.data_ptr(), in->Data(*info), info->num_bytes());
    moments.emplace_back(name, copy);
  }
  return optimizer.LoadState(steps, moments);
}

}  // namespace rto
