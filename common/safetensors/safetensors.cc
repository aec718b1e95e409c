#include "common/safetensors/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace rto::safetensors {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; big-endian hosts are not supported");

using nlohmann::json;

absl::Status Invalid(const std::string& file, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(file, ": invalid safetensors: ", what));
}

// a * b, or false on uint64 overflow.
bool MulOk(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_mul_overflow(a, b, out); }

}  // namespace

absl::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF64: return "F64";
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
    case DType::kI64: return "I64";
    case DType::kI32: return "I32";
    case DType::kI16: return "I16";
    case DType::kI8: return "I8";
    case DType::kU8: return "U8";
    case DType::kBool: return "BOOL";
  }
  return "?";
}

absl::StatusOr<DType> ParseDType(absl::string_view name) {
  for (DType d : {DType::kF64, DType::kF32, DType::kF16, DType::kBF16, DType::kI64, DType::kI32, DType::kI16,
                  DType::kI8, DType::kU8, DType::kBool}) {
    if (DTypeName(d) == name) return d;
  }
  return absl::InvalidArgumentError(absl::StrCat("unsupported dtype '", name, "'"));
}

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kF64:
    case DType::kI64: return 8;
    case DType::kF32:
    case DType::kI32: return 4;
    case DType::kF16:
    case DType::kBF16:
    case DType::kI16: return 2;
    case DType::kI8:
    case DType::kU8:
    case DType::kBool: return 1;
  }
  return 0;
}

absl::StatusOr<std::vector<TensorInfo>> File::ParseHeader(const uint8_t* data, size_t size, const std::string& name,
                                                          std::map<std::string, std::string>* metadata,
                                                          uint64_t* data_start) {
  if (size < 8) return Invalid(name, absl::StrCat("file is ", size, " bytes, shorter than the 8-byte header length"));
  uint64_t header_len;
  std::memcpy(&header_len, data, 8);
  if (header_len > kMaxHeaderBytes) {
    return Invalid(name, absl::StrCat("header length ", header_len, " exceeds the limit of ", kMaxHeaderBytes));
  }
  if (header_len > size - 8) {
    return Invalid(name, absl::StrCat("header length ", header_len, " runs past the end of the ", size, "-byte file"));
  }
  absl::string_view text(reinterpret_cast<const char*>(data) + 8, header_len);
  if (text.empty() || text.front() != '{') return Invalid(name, "header does not start with '{'");

  // nlohmann keeps the last of duplicate keys silently; catch duplicates while parsing.
  std::set<std::string> seen;
  std::string duplicate;
  auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text.begin(), text.end(), on_event);
  } catch (const json::exception& e) {
    return Invalid(name, absl::StrCat("header is not valid JSON: ", e.what()));
  }
  if (!duplicate.empty()) return Invalid(name, absl::StrCat("tensor '", duplicate, "' appears twice in the header"));
  if (!header.is_object()) return Invalid(name, "header is not a JSON object");

  const uint64_t data_size = size - 8 - header_len;
  std::vector<TensorInfo> tensors;
  for (auto& item : header.items()) {
    const std::string& key = item.key();  // not a structured binding: lambdas below capture it
    const json& value = item.value();
    if (key == "__metadata__") {
      if (!value.is_object()) return Invalid(name, "__metadata__ is not an object");
      for (auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) return Invalid(name, absl::StrCat("__metadata__ value of '", mk, "' is not a string"));
        if (metadata) (*metadata)[mk] = mv.get<std::string>();
      }
      continue;
    }
    auto bad = [&](absl::string_view what) { return Invalid(name, absl::StrCat("tensor '", key, "': ", what)); };
    if (!value.is_object()) return bad("entry is not an object");
    TensorInfo info;
    info.name = key;
    auto dtype_it = value.find("dtype");
    if (dtype_it == value.end() || !dtype_it->is_string()) return bad("missing string 'dtype'");
    auto dtype = ParseDType(dtype_it->get<std::string>());
    if (!dtype.ok()) return bad(dtype.status().message());
    info.dtype = *dtype;

    auto shape_it = value.find("shape");
    if (shape_it == value.end() || !shape_it->is_array()) return bad("missing array 'shape'");
    uint64_t elements = 1;
    for (const json& dim : *shape_it) {
      if (!dim.is_number_unsigned()) return bad("shape has an entry that is not a non-negative integer");
      uint64_t d = dim.get<uint64_t>();
      if (d > static_cast<uint64_t>(INT64_MAX) || !MulOk(elements, d, &elements)) return bad("shape overflows");
      info.shape.push_back(static_cast<int64_t>(d));
    }
    uint64_t expected_bytes;
    if (!MulOk(elements, DTypeSize(info.dtype), &expected_bytes)) return bad("byte size overflows");

    auto off_it = value.find("data_offsets");
    if (off_it == value.end() || !off_it->is_array() || off_it->size() != 2 || !(*off_it)[0].is_number_unsigned() ||
        !(*off_it)[1].is_number_unsigned()) {
      return bad("'data_offsets' is not a pair of non-negative integers");
    }
    info.begin = (*off_it)[0].get<uint64_t>();
    info.end = (*off_it)[1].get<uint64_t>();
    if (info.begin > info.end)
      return bad(absl::StrCat("data_offsets [", info.begin, ", ", info.end, "] has begin > end"));
    if (info.end > data_size) {
      return bad(absl::StrCat("data_offsets end ", info.end, " lies past the ", data_size, "-byte data section"));
    }
    if (info.num_bytes() != expected_bytes) {
      return bad(absl::StrCat("holds ", info.num_bytes(), " bytes but dtype ", DTypeName(info.dtype),
                              " and its shape need ", expected_bytes));
    }
    tensors.push_back(std::move(info));
  }

  // The data section must be covered exactly: no overlaps, no holes, nothing trailing.
  std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t cursor = 0;
  for (const TensorInfo& t : tensors) {
    if (t.begin < cursor) return Invalid(name, absl::StrCat("tensor '", t.name, "' overlaps the tensor before it"));
    if (t.begin > cursor)
      return Invalid(name, absl::StrCat("unused bytes [", cursor, ", ", t.begin, ") before tensor '", t.name, "'"));
    cursor = t.end;
  }
  if (cursor != data_size) {
    return Invalid(name, absl::StrCat("data section is ", data_size, " bytes but the tensors cover ", cursor));
  }
  if (data_start) *data_start = 8 + header_len;
  return tensors;
}

absl::StatusOr<std::unique_ptr<File>> File::Open(const std::string& path) {
  std::unique_ptr<File> file(new File());
  RTO_ASSIGN_OR_RETURN(file->file_, MappedFile::Open(path));
  RTO_ASSIGN_OR_RETURN(file->tensors_, ParseHeader(file->file_->data(), file->file_->size(), path, &file->metadata_,
                                                   &file->data_start_));
  for (size_t i = 0; i < file->tensors_.size(); ++i) file->index_[file->tensors_[i].name] = i;
  return file;
}

const TensorInfo* File::Find(absl::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

absl::Status Write(const std::string& path, const std::vector<TensorView>& tensors,
                   const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::set<std::string> names;
  for (const TensorView& t : tensors) {
    if (t.name == "__metadata__" || !names.insert(t.name).second) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": duplicate or reserved tensor name '", t.name, "'"));
    }
    uint64_t bytes = DTypeSize(t.dtype);
    for (int64_t d : t.shape) {
      if (d < 0 || !MulOk(bytes, static_cast<uint64_t>(d), &bytes)) {
        return absl::InvalidArgumentError(absl::StrCat(path, ": tensor '", t.name, "' has a bad shape"));
      }
    }
    header[t.name] = {{"dtype", DTypeName(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  uint64_t header_len = text.size();

  RTO_ASSIGN_OR_RETURN(auto writer, AtomicFileWriter::Create(path));
  RTO_RETURN_IF_ERROR(writer->Append(&header_len, 8));
  RTO_RETURN_IF_ERROR(writer->Append(text));
  for (const TensorView& t : tensors) {
    uint64_t bytes = DTypeSize(t.dtype);
    for (int64_t d : t.shape) bytes *= static_cast<uint64_t>(d);
    RTO_RETURN_IF_ERROR(writer->Append(t.data, bytes));
  }
  return writer->Commit();
}

}  // namespace rto::safetensors
