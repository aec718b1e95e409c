// YAML run configs read into typed fields. Every key in the file must be one the job reads
// (an unknown key is an error that names it, so a typo never silently falls back to a default),
// every value must have its field's type, and `--set a.b=c` overrides apply before reading.
// The resolved config (every field read, defaults included) can be written back out. A file may
// start from another: `base: other.yaml` (relative to the file) reads that one first and lays
// this file's keys over it (mappings merge key by key).
// Torch-free. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace YAML {
class Node;
}

namespace rto {

class ConfigReader {
 public:
  // `overrides` are "dotted.key=value" strings; the value is read as a YAML scalar.
  static absl::StatusOr<ConfigReader> Parse(const std::string& yaml_text, const std::string& source,
                                            const std::vector<std::string>& overrides = {});
  static absl::StatusOr<ConfigReader> Load(const std::string& path, const std::vector<std::string>& overrides = {});
  ConfigReader(ConfigReader&&) noexcept;
  ConfigReader& operator=(ConfigReader&&) noexcept;
  ~ConfigReader();

  // Reads "dotted.key" into *out when present; otherwise *out keeps its value (the default).
  // Either way the key and final value join the resolved config.
  absl::Status Read(const std::string& key, int64_t* out);
  absl::Status Read(const std::string& key, double* out);
  absl::Status Read(const std::string& key, bool* out);
  absl::Status Read(const std::string& key, std::string* out);
  bool Has(const std::string& key) const;

  // An error naming the first key of the file that no Read asked for.
  absl::Status CheckNoUnknownKeys() const;
  // YAML of every field read, with its final value.
  std::string Resolved() const;

 private:
  ConfigReader();
  template <typename T>
  absl::Status ReadScalar(const std::string& key, T* out, const char* type_name);

  std::string source_;
  std::unique_ptr<YAML::Node> root_;
  std::vector<std::string> read_keys_;
  std::map<std::string, std::string> resolved_;  // key -> value as YAML text
};

// An error naming the first of `keys` whose value is empty: "config key 'out' is required".
absl::Status RequireKeys(std::initializer_list<std::pair<const char*, const std::string*>> keys);

}  // namespace rto
