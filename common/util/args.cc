#include "common/util/args.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace rto {
namespace {

// Levenshtein distance of two flag names.
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean --x?)" for the known name nearest to `name`, when one is near enough to be a
// typo (at most a third of its letters off, and at least one); "" otherwise.
std::string Suggestion(const std::string& name, const std::set<std::string>& flags,
                       const std::set<std::string>& switches) {
  std::string best;
  size_t best_distance = std::max<size_t>(1, name.size() / 3) + 1;
  for (const std::set<std::string>* known : {&flags, &switches}) {
    for (const std::string& candidate : *known) {
      const size_t d = EditDistance(name, candidate);
      if (d < best_distance) {
        best = candidate;
        best_distance = d;
      }
    }
  }
  return best.empty() ? "" : absl::StrCat(" (did you mean --", best, "?)");
}

}  // namespace

absl::StatusOr<Args> Args::Parse(const std::vector<std::string>& argv, const std::set<std::string>& flags,
                                 const std::set<std::string>& switches) {
  Args args;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      args.positionals_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (switches.count(name)) {
      if (value) return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      args.values_[name].push_back("true");
      continue;
    }
    if (!flags.count(name)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, Suggestion(name, flags, switches)));
    }
    if (!value) {
      if (i + 1 >= argv.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
      value = argv[++i];
    }
    args.values_[name].push_back(*value);
  }
  return args;
}

std::string Args::GetString(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> Args::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>() : it->second;
}

absl::StatusOr<std::string> Args::GetRequired(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return absl::InvalidArgumentError(absl::StrCat("--", name, " is required"));
  return it->second.back();
}

absl::StatusOr<int64_t> Args::GetInt(const std::string& name, int64_t fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  int64_t v;
  if (!absl::SimpleAtoi(it->second.back(), &v)) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, ": '", it->second.back(), "' is not an integer"));
  }
  return v;
}

absl::StatusOr<double> Args::GetDouble(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  double v;
  if (!absl::SimpleAtod(it->second.back(), &v)) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, ": '", it->second.back(), "' is not a number"));
  }
  return v;
}

absl::StatusOr<std::vector<int64_t>> Args::GetIntList(const std::string& name) const {
  std::vector<int64_t> out;
  auto it = values_.find(name);
  if (it == values_.end() || it->second.back().empty()) return out;
  for (absl::string_view part : absl::StrSplit(it->second.back(), ',')) {
    int64_t v;
    if (!absl::SimpleAtoi(part, &v)) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, ": '", part, "' is not an integer"));
    }
    out.push_back(v);
  }
  return out;
}

}  // namespace rto
