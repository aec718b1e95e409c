// Command-line arguments of the `rto` subcommands: `--name value`, `--name=value`, bare
// `--switch`, and positionals. Unknown flags are errors that name the flag and the known one
// nearest to it, when one is near enough to be a typo.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rto {

class Args {
 public:
  // `flags` take a value; `switches` take none. Both are given without the leading "--".
  static absl::StatusOr<Args> Parse(const std::vector<std::string>& argv, const std::set<std::string>& flags,
                                    const std::set<std::string>& switches = {});

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string GetString(const std::string& name, const std::string& fallback) const;
  absl::StatusOr<std::string> GetRequired(const std::string& name) const;
  absl::StatusOr<int64_t> GetInt(const std::string& name, int64_t fallback) const;
  absl::StatusOr<double> GetDouble(const std::string& name, double fallback) const;
  // Every value of a flag given several times (e.g. `--set a=1 --set b=2`), in order.
  std::vector<std::string> GetAll(const std::string& name) const;
  // A comma-separated list of integers, e.g. `--stop-token-ids 2,7`.
  absl::StatusOr<std::vector<int64_t>> GetIntList(const std::string& name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;  // a repeated flag keeps every value
  std::vector<std::string> positionals_;
};

}  // namespace rto
