#include "common/model/checkpoint.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/safetensors/directory.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

namespace fs = std::filesystem;
namespace st = rto::safetensors;

absl::StatusOr<at::ScalarType> ToScalarType(st::DType d) {
  switch (d) {
    case st::DType::kF64: return at::kDouble;
    case st::DType::kF32: return at::kFloat;
    case st::DType::kF16: return at::kHalf;
    case st::DType::kBF16: return at::kBFloat16;
    default:
      return absl::InvalidArgumentError(absl::StrCat("dtype ", st::DTypeName(d), " is not a floating-point type"));
  }
}

st::DType ToSafetensorsDType(at::ScalarType t) {
  switch (t) {
    case at::kBFloat16: return st::DType::kBF16;
    case at::kHalf: return st::DType::kF16;
    default: return st::DType::kF32;
  }
}

// Tensors that HF checkpoints may carry and that this model derives instead.
bool IsIgnorable(const std::string& name, const ModelConfig& c) {
  if (name.ends_with("rotary_emb.inv_freq")) return true;  // old Llama checkpoints
  if (name == "lm_head.weight" && (c.head == HeadKind::kScore || c.tie_word_embeddings)) return true;
  return false;
}

// The dtype of most of the directory's floating-point elements.
absl::StatusOr<at::ScalarType> MajorityDType(const st::Directory& weights, const std::string& dir) {
  std::map<at::ScalarType, int64_t> elements;
  for (const auto& [name, entry] : weights.tensors()) {
    absl::StatusOr<at::ScalarType> t = ToScalarType(entry.info->dtype);
    if (!t.ok()) continue;  // integer buffers say nothing about the weights' precision
    elements[*t] += static_cast<int64_t>(entry.info->num_bytes() / st::DTypeSize(entry.info->dtype));
  }
  if (elements.empty()) return absl::InvalidArgumentError(absl::StrCat(dir, ": no floating-point weights"));
  auto most = std::max_element(elements.begin(), elements.end(),
                               [](const auto& a, const auto& b) { return a.second < b.second; });
  return most->first;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Transformer>> LoadModel(const std::string& dir, const LoadOptions& options) {
  const std::string config_path = (fs::path(dir) / "config.json").string();
  RTO_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(config_path));
  if (options.head) config.head = *options.head;
  RTO_ASSIGN_OR_RETURN(std::shared_ptr<const st::Directory> weights, st::Directory::Open(dir));
  at::ScalarType dtype = at::kFloat;
  if (options.stored_dtype) {
    RTO_ASSIGN_OR_RETURN(dtype, MajorityDType(*weights, dir));
  } else if (options.dtype) {
    dtype = *options.dtype;
  } else {
    RTO_ASSIGN_OR_RETURN(dtype, ParseScalarType(config.torch_dtype));
  }
  RTO_ASSIGN_OR_RETURN(auto model, Transformer::Create(config, dtype, options.device));

  // Check everything before copying anything.
  std::vector<std::string> missing;
  for (const NamedParameter& p : model->parameters()) {
    auto it = weights->tensors().find(p.name);
    if (it == weights->tensors().end()) {
      if (p.name == "score.weight" && options.init_missing_score_seed) continue;
      missing.push_back(p.name);
      continue;
    }
    const st::TensorInfo& info = *it->second.info;
    auto file_dtype = ToScalarType(info.dtype);
    if (!file_dtype.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(it->second.file->path(), ": tensor '", p.name, "': ", file_dtype.status().message()));
    }
    if (!p.tensor.sizes().equals(info.shape)) {
      return absl::InvalidArgumentError(absl::StrCat(it->second.file->path(), ": tensor '", p.name, "' has shape ",
                                                     c10::str(at::IntArrayRef(info.shape)), " but ", config_path,
                                                     " implies ", c10::str(p.tensor.sizes())));
    }
  }
  if (!missing.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": ", missing.size(), " tensor(s) that ",
                                                   config.ArchitectureName(), " needs are missing, e.g. '",
                                                   missing.front(), "'"));
  }
  for (const auto& [name, entry] : weights->tensors()) {
    if (model->FindParameter(name) == nullptr && !IsIgnorable(name, config)) {
      return absl::InvalidArgumentError(absl::StrCat(entry.file->path(), ": unexpected tensor '", name,
                                                     "': not part of a ", config.ArchitectureName(),
                                                     " with the configuration in ", config_path));
    }
  }

  c10::NoGradGuard no_grad;
  if (options.init_missing_score_seed && !weights->tensors().count("score.weight")) {
    model->InitRandom(*options.init_missing_score_seed);  // then overwritten below, except the score head
  }
  for (const NamedParameter& p : model->parameters()) {
    auto it = weights->tensors().find(p.name);
    if (it == weights->tensors().end()) continue;
    const st::TensorInfo& info = *it->second.info;
    const uint8_t* bytes = it->second.file->Data(info);
    at::ScalarType file_dtype = *ToScalarType(info.dtype);
    // The mapping is viewed in place; the one copy is into the parameter, unless the parameter
    // may be the view itself. Data that is not aligned to its element size (legal in the format)
    // is first copied to aligned memory.
    const bool aligned = reinterpret_cast<uintptr_t>(bytes) % st::DTypeSize(info.dtype) == 0;
    if (options.map_weights && aligned && file_dtype == model->dtype() && model->device().is_cpu()) {
      // The deleter holds the mapping for as long as the parameter's storage lives.
      p.tensor.set_(at::from_blob(
          const_cast<uint8_t*>(bytes), info.shape, [weights](void*) {}, at::TensorOptions().dtype(file_dtype)));
      continue;
    }
    at::Tensor source;
    if (aligned) {
      source = at::from_blob(const_cast<uint8_t*>(bytes), info.shape, at::TensorOptions().dtype(file_dtype));
    } else {
      source = at::empty(info.shape, at::TensorOptions().dtype(file_dtype));
      std::memcpy(source.data_ptr(), bytes, info.num_bytes());
    }
    p.tensor.copy_(source);  // copy_ converts dtype and device
  }
  return model;
}

absl::StatusOr<at::ScalarType> StoredDType(const std::string& dir) {
  RTO_ASSIGN_OR_RETURN(auto weights, st::Directory::Open(dir));
  return MajorityDType(*weights, dir);
}

absl::Status SaveModel(const Transformer& model, const std::string& dir, const SaveOptions& options) {
  at::ScalarType dtype = options.dtype.value_or(model.dtype());
  ModelConfig config = model.config();
  config.torch_dtype = ScalarTypeName(dtype);

  std::vector<at::Tensor> keep_alive;
  std::vector<st::TensorView> views;
  for (const NamedParameter& p : model.parameters()) {
    at::Tensor t = p.tensor.detach().to(at::kCPU, dtype).contiguous();
    keep_alive.push_back(t);
    views.push_back({p.name, ToSafetensorsDType(dtype), t.sizes().vec(), t.data_ptr()});
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat(dir, ": cannot create directory: ", ec.message()));
  RTO_RETURN_IF_ERROR(st::WriteDirectory(dir, views, options.max_shard_bytes));
  return WriteFileAtomically((fs::path(dir) / "config.json").string(), ModelConfigToJson(config));
}

}  // namespace rto
