// The metric definitions: Prometheus naming, and the README's metric table agrees with them.
#include "common/rpc/metric_defs.h"

#include <regex>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/testing/test_util.h"

namespace rto {
namespace {

TEST(MetricDefsTest, NamesCarryTheirUnitAndCountersEndInTotal) {
  std::set<absl::string_view> names;
  for (const MetricDef* def : metric::All()) {
    EXPECT_TRUE(names.insert(def->name).second) << def->name << " is defined twice";
    EXPECT_FALSE(def->help.empty()) << def->name;
    EXPECT_FALSE(def->roles.empty()) << def->name;
    const std::string name(def->name);
    const bool total = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
    EXPECT_EQ(total, def->kind == MetricKind::kCounter) << name;
    if (def->kind == MetricKind::kHistogram) {
      EXPECT_TRUE(name.ends_with("_seconds")) << name;
    }
  }
}

// The `rto_...` names in the README's metric table (the rows of `| metric | labels | what |`).
std::set<std::string> ReadmeMetrics() {
  const std::string readme = testing::ReadFile(testing::SourceDir() + "/README.md");
  std::set<std::string> out;
  const std::regex row(R"(\n\| (`rto_[^|]*)\|)"), name(R"(`(rto_[a-z_<>]+)`)");
  for (auto r = std::sregex_iterator(readme.begin(), readme.end(), row); r != std::sregex_iterator(); ++r) {
    const std::string cell = (*r)[1];
    for (auto n = std::sregex_iterator(cell.begin(), cell.end(), name); n != std::sregex_iterator(); ++n) {
      out.insert((*n)[1]);
    }
  }
  return out;
}

TEST(MetricDefsTest, TheReadmeTableListsExactlyTheDefinedMetrics) {
  std::set<std::string> defined;
  for (const MetricDef* def : metric::All()) {
    for (absl::string_view role : def->roles) defined.insert(absl::StrCat("rto_", role, "_", def->name));
  }
  const std::set<std::string> readme = ReadmeMetrics();
  ASSERT_FALSE(readme.empty()) << "no metric table found in README.md";
  for (const std::string& n : defined) EXPECT_TRUE(readme.count(n)) << n << " is defined but not in the README";
  for (const std::string& n : readme) EXPECT_TRUE(defined.count(n)) << n << " is in the README but not defined";
}

}  // namespace
}  // namespace rto
