#include "common/config/config.h"

#include <filesystem>

#include "absl/strings/str_cat.h"

#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;

constexpr char kYaml[] = R"(
model: /models/sft
train:
  lr: 1.0e-5
  steps: 100
  bf16: false
  schedule: cosine
)";

struct Job {
  std::string model, schedule = "constant";
  double lr = 1e-4;
  int64_t steps = 10, seed = 42;
  bool bf16 = true;
  absl::Status Read(ConfigReader& r) {
    for (absl::Status s : {r.Read("model", &model), r.Read("train.lr", &lr), r.Read("train.steps", &steps),
                           r.Read("train.bf16", &bf16), r.Read("train.schedule", &schedule), r.Read("seed", &seed)}) {
      if (!s.ok()) return s;
    }
    return r.CheckNoUnknownKeys();
  }
};

TEST(ConfigTest, ReadsTypedValuesKeepsDefaultsAndResolves) {
  auto r = ConfigReader::Parse(kYaml, "job.yaml");
  ASSERT_THAT(r, IsOk());
  Job job;
  ASSERT_THAT(job.Read(*r), IsOk());
  EXPECT_EQ(job.model, "/models/sft");
  EXPECT_EQ(job.lr, 1e-5);
  EXPECT_EQ(job.steps, 100);
  EXPECT_FALSE(job.bf16);
  EXPECT_EQ(job.seed, 42);  // default
  // The resolved config holds the defaults too, and reads back to the same job.
  auto again = ConfigReader::Parse(r->Resolved(), "resolved.yaml");
  ASSERT_THAT(again, IsOk());
  Job job2;
  ASSERT_THAT(job2.Read(*again), IsOk());
  EXPECT_EQ(job2.seed, 42);
  EXPECT_EQ(job2.lr, 1e-5);
  EXPECT_EQ(job2.schedule, "cosine");
  EXPECT_EQ(again->Resolved(), r->Resolved());
}

TEST(ConfigTest, SetOverridesExistingAndNewKeys) {
  auto r = ConfigReader::Parse(kYaml, "job.yaml", {"train.steps=7", "seed=3", "train.lr=2e-6"});
  ASSERT_THAT(r, IsOk());
  Job job;
  ASSERT_THAT(job.Read(*r), IsOk());
  EXPECT_EQ(job.steps, 7);
  EXPECT_EQ(job.seed, 3);
  EXPECT_EQ(job.lr, 2e-6);
  EXPECT_THAT(ConfigReader::Parse(kYaml, "job.yaml", {"train.steps"}),
              StatusIs(absl::StatusCode::kInvalidArgument, "--set 'train.steps': expected key=value"));
}

TEST(ConfigTest, UnknownKeysAndWrongTypesNameTheKey) {
  auto typo = ConfigReader::Parse(std::string(kYaml) + "  warmup_stepz: 5\n", "job.yaml");
  ASSERT_THAT(typo, IsOk());
  Job job;
  EXPECT_THAT(job.Read(*typo),
              StatusIs(absl::StatusCode::kInvalidArgument, "job.yaml: unknown key 'train.warmup_stepz'"));
  auto wrong = ConfigReader::Parse(kYaml, "job.yaml", {"train.steps=many"});
  ASSERT_THAT(wrong, IsOk());
  EXPECT_THAT(Job().Read(*wrong),
              StatusIs(absl::StatusCode::kInvalidArgument, "'train.steps' must be an integer, got 'many'"));
  auto nested = ConfigReader::Parse("train: 5\n", "job.yaml");
  ASSERT_THAT(nested, IsOk());
  int64_t steps = 0;
  EXPECT_THAT(nested->Read("train.steps", &steps), IsOk());  // 'train' is a scalar: no such key, default kept
  EXPECT_THAT(nested->CheckNoUnknownKeys(), StatusIs(absl::StatusCode::kInvalidArgument, "unknown key 'train'"));
  bool flag = false;
  auto not_bool = ConfigReader::Parse("flag: [1, 2]\n", "job.yaml");
  EXPECT_THAT(not_bool->Read("flag", &flag),
              StatusIs(absl::StatusCode::kInvalidArgument, "'flag' must be true or false, got a list"));
}

TEST(ConfigTest, BadYamlAndMissingFiles) {
  EXPECT_THAT(ConfigReader::Parse("a: [1, 2", "bad.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument, "bad.yaml: not valid YAML"));
  EXPECT_THAT(ConfigReader::Parse("- 1\n- 2\n", "list.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument, "must be a YAML mapping"));
  EXPECT_THAT(ConfigReader::Load("/nonexistent/job.yaml"),
              StatusIs(absl::StatusCode::kNotFound, "/nonexistent/job.yaml"));
}

TEST(ConfigTest, BaseConfigsAreLaidUnderTheFile) {
  rto::testing::TempDir tmp;
  std::filesystem::create_directories(tmp.Join("sub"));
  rto::testing::WriteFile(tmp.Join("base.yaml"), "steps: 60\nkl:\n  coef: 0.1\n  target: 0\nname: rto\n");
  rto::testing::WriteFile(tmp.Join("sub/ppo.yaml"), "base: ../base.yaml\nkl:\n  coef: 0.05\nname: ppo\n");
  auto reader = ConfigReader::Load(tmp.Join("sub/ppo.yaml"), {"steps=7"});
  ASSERT_THAT(reader, IsOk());
  int64_t steps = 0;
  double coef = 0, target = 1;
  std::string name;
  ASSERT_THAT(reader->Read("steps", &steps), IsOk());
  ASSERT_THAT(reader->Read("kl.coef", &coef), IsOk());
  ASSERT_THAT(reader->Read("kl.target", &target), IsOk());
  ASSERT_THAT(reader->Read("name", &name), IsOk());
  EXPECT_EQ(steps, 7);    // --set over both files
  EXPECT_EQ(coef, 0.05);  // the file over its base, inside a mapping
  EXPECT_EQ(target, 0);   // the base's sibling key kept
  EXPECT_EQ(name, "ppo");
  EXPECT_THAT(reader->CheckNoUnknownKeys(), IsOk()) << "'base' itself is not a key of the job";

  rto::testing::WriteFile(tmp.Join("loop.yaml"), "base: loop.yaml\n");
  EXPECT_THAT(ConfigReader::Load(tmp.Join("loop.yaml")),
              StatusIs(absl::StatusCode::kInvalidArgument, "configs deep in 'base' (a cycle?)"));
  rto::testing::WriteFile(tmp.Join("missing.yaml"), "base: nowhere.yaml\n");
  EXPECT_THAT(ConfigReader::Load(tmp.Join("missing.yaml")), StatusIs(absl::StatusCode::kNotFound, "nowhere.yaml"));
  rto::testing::WriteFile(tmp.Join("list.yaml"), "base: [a, b]\n");
  EXPECT_THAT(ConfigReader::Load(tmp.Join("list.yaml")),
              StatusIs(absl::StatusCode::kInvalidArgument, "list.yaml: 'base' must name a config file"));
  rto::testing::WriteFile(tmp.Join("bad_base.yaml"), "a: [1, 2\n");
  rto::testing::WriteFile(tmp.Join("on_bad.yaml"), "base: bad_base.yaml\n");
  EXPECT_THAT(ConfigReader::Load(tmp.Join("on_bad.yaml")),
              StatusIs(absl::StatusCode::kInvalidArgument, "bad_base.yaml: not valid YAML"));
}

// Found by config_fuzz: a key that is not a name (null, a list) threw out of CheckNoUnknownKeys.
TEST(ConfigReaderTest, KeysThatAreNotNamesAreRefusedWithTheirLine) {
  for (const char* yaml : {"steps: 1\n? [a, b]\n: 1\n", "train:\n  ~: 1\n", "a:\n  - {? {x: 1} : 2}\n"}) {
    auto reader = ConfigReader::Parse(yaml, "job.yaml", {});
    EXPECT_THAT(reader.status(), StatusIs(absl::StatusCode::kInvalidArgument, "a key must be a name")) << yaml;
  }
  // The same in a --set value, which is YAML too (found by config_fuzz: it threw out of
  // CheckNoUnknownKeys, as the file's keys once did).
  for (const char* set : {"train={? [a, b] : 1}", "train={~: 1}", "a=[{? {x: 1} : 2}]"}) {
    auto reader = ConfigReader::Parse("steps: 1\n", "job.yaml", {set});
    EXPECT_THAT(reader.status(),
                StatusIs(absl::StatusCode::kInvalidArgument, absl::StrCat("--set '", set, "':1: a key must be a name")))
        << set;
  }
}

}  // namespace
}  // namespace rto
