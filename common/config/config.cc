#include "common/config/config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

std::vector<std::string> Path(const std::string& key) { return absl::StrSplit(key, '.'); }

// The node at a dotted path, or an undefined node.
YAML::Node Find(const YAML::Node& root, const std::string& key) {
  YAML::Node node = YAML::Clone(root);
  for (const std::string& part : Path(key)) {
    if (!node.IsMap() || !node[part]) return YAML::Node(YAML::NodeType::Undefined);
    node = node[part];
  }
  return node;
}

// Collects the dotted keys of every leaf (scalar or sequence) of a map.
void Leaves(const YAML::Node& node, const std::string& prefix, std::vector<std::string>* out) {
  for (const auto& kv : node) {
    std::string key = prefix.empty() ? kv.first.as<std::string>() : prefix + "." + kv.first.as<std::string>();
    if (kv.second.IsMap()) {
      Leaves(kv.second, key, out);
    } else {
      out->push_back(key);
    }
  }
}

// An error naming the first mapping key of `node` that is not a scalar (`? [a, b]: 1`): a config's
// keys are names.
absl::Status CheckScalarKeys(const YAML::Node& node, const std::string& source) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        return absl::InvalidArgumentError(
            absl::StrCat(source, ":", kv.first.Mark().line + 1, ": a key must be a name, not a list or mapping"));
      }
      RTO_RETURN_IF_ERROR(CheckScalarKeys(kv.second, source));
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) RTO_RETURN_IF_ERROR(CheckScalarKeys(item, source));
  }
  return absl::OkStatus();
}

// Overlays `top` on `base`: maps merge key by key, anything else in `top` replaces.
void Overlay(YAML::Node base, const YAML::Node& top) {
  for (const auto& kv : top) {
    const std::string key = kv.first.as<std::string>();
    if (kv.second.IsMap() && base[key] && base[key].IsMap()) {
      Overlay(base[key], kv.second);
    } else {
      base[key] = YAML::Clone(kv.second);
    }
  }
}

// The config at `path` with its `base:` chain (a path relative to the file naming it) overlaid,
// base first. `depth` bounds the chain, so that a cycle is an error and not a stack overflow.
absl::StatusOr<YAML::Node> LoadWithBases(const std::filesystem::path& path, int depth) {
  constexpr int kMaxDepth = 8;
  RTO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path.string()));
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ": not valid YAML: ", e.what()));
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ": the config must be a YAML mapping"));
  }
  RTO_RETURN_IF_ERROR(CheckScalarKeys(root, path.string()));
  if (!root["base"]) return root;
  if (!root["base"].IsScalar() || root["base"].as<std::string>().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ": 'base' must name a config file"));
  }
  if (depth >= kMaxDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.string(), ": more than ", kMaxDepth, " configs deep in 'base' (a cycle?)"));
  }
  const std::filesystem::path base_path = path.parent_path() / root["base"].as<std::string>();
  RTO_ASSIGN_OR_RETURN(YAML::Node merged, LoadWithBases(base_path, depth + 1));
  root.remove("base");
  Overlay(merged, root);
  return merged;
}

}  // namespace

ConfigReader::ConfigReader() : root_(std::make_unique<YAML::Node>(YAML::NodeType::Map)) {}
ConfigReader::ConfigReader(ConfigReader&&) noexcept = default;
ConfigReader& ConfigReader::operator=(ConfigReader&&) noexcept = default;
ConfigReader::~ConfigReader() = default;

absl::StatusOr<ConfigReader> ConfigReader::Parse(const std::string& yaml_text, const std::string& source,
                                                 const std::vector<std::string>& overrides) {
  ConfigReader r;
  r.source_ = source;
  try {
    YAML::Node root = YAML::Load(yaml_text);
    if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    if (!root.IsMap()) return absl::InvalidArgumentError(absl::StrCat(source, ": the config must be a YAML mapping"));
    RTO_RETURN_IF_ERROR(CheckScalarKeys(root, source));
    for (const std::string& o : overrides) {
      size_t eq = o.find('=');
      if (eq == std::string::npos || eq == 0) {
        return absl::InvalidArgumentError(absl::StrCat("--set '", o, "': expected key=value, e.g. train.lr=1e-5"));
      }
      std::vector<std::string> parts = Path(o.substr(0, eq));
      YAML::Node value = YAML::Load(o.substr(eq + 1));
      RTO_RETURN_IF_ERROR(CheckScalarKeys(value, absl::StrCat("--set '", o, "'")));
      // Walk with references so that the assignment lands inside `root`.
      std::function<void(YAML::Node, size_t)> set = [&](YAML::Node node, size_t i) {
        if (i + 1 == parts.size()) {
          node[parts[i]] = value;
          return;
        }
        if (!node[parts[i]] || !node[parts[i]].IsMap()) node[parts[i]] = YAML::Node(YAML::NodeType::Map);
        set(node[parts[i]], i + 1);
      };
      set(root, 0);
    }
    *r.root_ = root;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": not valid YAML: ", e.what()));
  }
  return r;
}

// Every file, with a `base:` or not, goes through LoadWithBases, which checks each file's keys
// with that file's own line numbers; Parse then reads the merged mapping.
absl::StatusOr<ConfigReader> ConfigReader::Load(const std::string& path, const std::vector<std::string>& overrides) {
  RTO_ASSIGN_OR_RETURN(YAML::Node merged, LoadWithBases(path, 0));
  YAML::Emitter out;
  out << merged;
  return Parse(out.c_str(), path, overrides);
}

bool ConfigReader::Has(const std::string& key) const { return Find(*root_, key).IsDefined(); }

template <typename T>
absl::Status ConfigReader::ReadScalar(const std::string& key, T* out, const char* type_name) {
  read_keys_.push_back(key);
  YAML::Node node = Find(*root_, key);
  if (node.IsDefined() && !node.IsNull()) {
    if (!node.IsScalar()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source_, ": '", key, "' must be ", type_name, ", got a ", node.IsMap() ? "mapping" : "list"));
    }
    try {
      *out = node.as<T>();
    } catch (const YAML::Exception&) {
      return absl::InvalidArgumentError(
          absl::StrCat(source_, ": '", key, "' must be ", type_name, ", got '", node.Scalar(), "'"));
    }
  }
  YAML::Emitter e;
  e << *out;
  resolved_[key] = e.c_str();
  return absl::OkStatus();
}

absl::Status ConfigReader::Read(const std::string& key, int64_t* out) { return ReadScalar(key, out, "an integer"); }
absl::Status ConfigReader::Read(const std::string& key, double* out) { return ReadScalar(key, out, "a number"); }
absl::Status ConfigReader::Read(const std::string& key, bool* out) { return ReadScalar(key, out, "true or false"); }
absl::Status ConfigReader::Read(const std::string& key, std::string* out) { return ReadScalar(key, out, "a string"); }

absl::Status ConfigReader::CheckNoUnknownKeys() const {
  std::vector<std::string> leaves;
  Leaves(*root_, "", &leaves);
  for (const std::string& key : leaves) {
    if (std::find(read_keys_.begin(), read_keys_.end(), key) == read_keys_.end()) {
      return absl::InvalidArgumentError(absl::StrCat(source_, ": unknown key '", key, "'"));
    }
  }
  return absl::OkStatus();
}

std::string ConfigReader::Resolved() const {
  YAML::Node out(YAML::NodeType::Map);
  for (const auto& entry : resolved_) {
    const std::string& value = entry.second;  // (not a structured binding: clang 14 cannot capture one)
    std::vector<std::string> parts = Path(entry.first);
    std::function<void(YAML::Node, size_t)> set = [&](YAML::Node node, size_t i) {
      if (i + 1 == parts.size()) {
        node[parts[i]] = YAML::Load(value);
        return;
      }
      if (!node[parts[i]]) node[parts[i]] = YAML::Node(YAML::NodeType::Map);
      set(node[parts[i]], i + 1);
    };
    set(out, 0);
  }
  YAML::Emitter e;
  e << out;
  return std::string(e.c_str()) + "\n";
}

absl::Status RequireKeys(std::initializer_list<std::pair<const char*, const std::string*>> keys) {
  for (const auto& [key, value] : keys) {
    if (value->empty()) return absl::InvalidArgumentError(absl::StrCat("config key '", key, "' is required"));
  }
  return absl::OkStatus();
}

}  // namespace rto
