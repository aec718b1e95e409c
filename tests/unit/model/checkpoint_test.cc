#include "common/model/checkpoint.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/safetensors/directory.h"
#include "common/util/file.h"
#include "tests/testing/test_util.h"
#include "tests/testing/tiny_models.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::IsOkAndHolds;
using testing::RandomModel;
using testing::StatusIs;
using testing::TempDir;
using testing::TinyConfig;
namespace st = rto::safetensors;

void ExpectSameWeights(const Transformer& a, const Transformer& b) {
  ASSERT_EQ(a.parameters().size(), b.parameters().size());
  for (size_t i = 0; i < a.parameters().size(); ++i) {
    EXPECT_EQ(a.parameters()[i].name, b.parameters()[i].name);
    EXPECT_TRUE(at::equal(a.parameters()[i].tensor, b.parameters()[i].tensor)) << a.parameters()[i].name;
  }
}

TEST(CheckpointTest, SaveLoadRoundTripIsBitwise) {
  TempDir tmp;
  ModelConfig c = TinyConfig(2);
  c.qkv_bias = c.o_bias = true;
  auto model = RandomModel(c, 1);
  ASSERT_THAT(SaveModel(*model, tmp.path()), IsOk());
  auto loaded = LoadModel(tmp.path());
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ((*loaded)->dtype(), at::kFloat);
  EXPECT_EQ(ModelConfigToJson((*loaded)->config()), ModelConfigToJson(model->config()));
  ExpectSameWeights(*model, **loaded);
}

TEST(CheckpointTest, ShardedLoadEqualsSingleFileLoad) {
  TempDir single, sharded;
  auto model = RandomModel(TinyConfig(2), 2);
  ASSERT_THAT(SaveModel(*model, single.path()), IsOk());
  ASSERT_THAT(SaveModel(*model, sharded.path(), {.max_shard_bytes = 20000}), IsOk());
  ASSERT_TRUE(std::filesystem::exists(sharded.Join(st::kIndexFileName)));
  auto a = LoadModel(single.path());
  auto b = LoadModel(sharded.path());
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ExpectSameWeights(**a, **b);
  EXPECT_GT((*b)->parameters().size(), 3u);
}

TEST(CheckpointTest, Bfloat16RoundTripIsBitwise) {
  TempDir tmp;
  auto model = RandomModel(TinyConfig(2), 3, at::kBFloat16);
  ASSERT_THAT(SaveModel(*model, tmp.path()), IsOk());
  auto file = st::File::Open(tmp.Join(st::kSingleFileName));
  ASSERT_THAT(file, IsOk());
  EXPECT_EQ((*file)->tensors()[0].dtype, st::DType::kBF16);
  auto loaded = LoadModel(tmp.path());  // config.json says bfloat16
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ((*loaded)->dtype(), at::kBFloat16);
  ExpectSameWeights(*model, **loaded);
}

TEST(CheckpointTest, SaveInAnotherDtypeAndLoadInAnother) {
  TempDir tmp;
  auto model = RandomModel(TinyConfig(2), 4);
  ASSERT_THAT(SaveModel(*model, tmp.path(), {.dtype = at::kBFloat16}), IsOk());
  auto loaded = LoadModel(tmp.path(), {.dtype = at::kFloat});
  ASSERT_THAT(loaded, IsOk());
  for (size_t i = 0; i < model->parameters().size(); ++i) {
    at::Tensor expected = model->parameters()[i].tensor.to(at::kBFloat16).to(at::kFloat);
    EXPECT_TRUE(at::equal((*loaded)->parameters()[i].tensor, expected));
  }
}

TEST(CheckpointTest, LoadedModelComputesTheSameLogits) {
  TempDir tmp;
  auto model = RandomModel(TinyConfig(2), 5);
  ASSERT_THAT(SaveModel(*model, tmp.path()), IsOk());
  auto loaded = LoadModel(tmp.path());
  ASSERT_THAT(loaded, IsOk());
  c10::NoGradGuard no_grad;
  at::Tensor ids = at::tensor({3, 1, 4, 1, 5}, at::kLong).unsqueeze(0), mask = at::ones({1, 5}, at::kLong);
  EXPECT_TRUE(at::equal(model->Logits(model->Forward(ids, mask)), (*loaded)->Logits((*loaded)->Forward(ids, mask))));
}

// The file that the mapping holding `address` maps, from /proc/self/maps; "" when anonymous.
std::string MappedFileOf(const void* address) {
  std::ifstream maps("/proc/self/maps");
  const auto a = reinterpret_cast<uintptr_t>(address);
  for (std::string line; std::getline(maps, line);) {
    uintptr_t begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &begin, &end) != 2 || a < begin || a >= end) continue;
    const size_t slash = line.find('/');
    return slash == std::string::npos ? "" : line.substr(slash);
  }
  return "";
}

TEST(CheckpointTest, MappedWeightsViewTheFilesAndComputeTheSame) {
  TempDir tmp;
  auto model = RandomModel(TinyConfig(2), 6);
  ASSERT_THAT(SaveModel(*model, tmp.path(), {.max_shard_bytes = 20000}), IsOk());  // several shards
  ASSERT_THAT(StoredDType(tmp.path()), IsOkAndHolds(at::kFloat));
  auto mapped = LoadModel(tmp.path(), {.map_weights = true});
  auto copied = LoadModel(tmp.path());
  ASSERT_THAT(mapped, IsOk());
  ASSERT_THAT(copied, IsOk());
  std::set<std::string> files;
  for (size_t i = 0; i < model->parameters().size(); ++i) {
    const std::string file = MappedFileOf((*mapped)->parameters()[i].tensor.data_ptr());
    EXPECT_TRUE(file.starts_with(tmp.path()) && file.ends_with(".safetensors")) << file;
    files.insert(file);
    EXPECT_EQ(MappedFileOf((*copied)->parameters()[i].tensor.data_ptr()), "");
  }
  EXPECT_GT(files.size(), 1u);
  ExpectSameWeights(*model, **mapped);
  // The mappings outlive LoadModel's own handle on the files: the parameters keep them.
  c10::NoGradGuard no_grad;
  at::Tensor ids = at::tensor({3, 1, 4, 1, 5}, at::kLong).unsqueeze(0), mask = at::ones({1, 5}, at::kLong);
  EXPECT_TRUE(at::equal(model->Logits(model->Forward(ids, mask)), (*mapped)->Logits((*mapped)->Forward(ids, mask))));
}

TEST(CheckpointTest, MappingNeedsTheStoredDtype) {
  TempDir tmp;
  auto model = RandomModel(TinyConfig(2), 7);
  ASSERT_THAT(SaveModel(*model, tmp.path(), {.dtype = at::kBFloat16}), IsOk());
  ASSERT_THAT(StoredDType(tmp.path()), IsOkAndHolds(at::kBFloat16));
  auto as_float = LoadModel(tmp.path(), {.dtype = at::kFloat, .map_weights = true});  // converted: a copy
  ASSERT_THAT(as_float, IsOk());
  EXPECT_EQ(MappedFileOf((*as_float)->parameters()[0].tensor.data_ptr()), "");
  auto stored = LoadModel(tmp.path(), {.dtype = at::kBFloat16, .map_weights = true});
  ASSERT_THAT(stored, IsOk());
  EXPECT_TRUE(MappedFileOf((*stored)->parameters()[0].tensor.data_ptr()).ends_with(".safetensors"));
  EXPECT_TRUE(at::equal((*stored)->parameters()[0].tensor.to(at::kFloat), (*as_float)->parameters()[0].tensor));
}

TEST(CheckpointTest, RewardModelFromACausalLmGetsAFreshScoreHead) {
  TempDir tmp;
  auto lm = RandomModel(TinyConfig(2), 6);
  ASSERT_THAT(SaveModel(*lm, tmp.path()), IsOk());
  EXPECT_THAT(LoadModel(tmp.path(), {.head = HeadKind::kScore}),
              StatusIs(absl::StatusCode::kInvalidArgument, "missing, e.g. 'score.weight'"));
  auto rm = LoadModel(tmp.path(), {.head = HeadKind::kScore, .init_missing_score_seed = 7});
  ASSERT_THAT(rm, IsOk());
  EXPECT_EQ((*rm)->config().ArchitectureName(), "LlamaForSequenceClassification");
  EXPECT_TRUE(at::equal(*(*rm)->FindParameter("model.norm.weight"), *lm->FindParameter("model.norm.weight")));
  EXPECT_GT((*rm)->FindParameter("score.weight")->abs().sum().item<double>(), 0);
  // Saved as an HF sequence classifier, it loads back as one.
  TempDir rm_dir;
  ASSERT_THAT(SaveModel(**rm, rm_dir.path()), IsOk());
  auto again = LoadModel(rm_dir.path());
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ((*again)->config().head, HeadKind::kScore);
}

// ---------------------------------------------------------------------------------------
// Malformed model directories, each rejected with an error naming the file and tensor.
class BadModelDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = RandomModel(TinyConfig(2), 8);
    ASSERT_THAT(SaveModel(*model_, tmp_.path()), IsOk());
    for (const NamedParameter& p : model_->parameters()) tensors_[p.name] = p.tensor;
  }
  // Rewrites model.safetensors with the given tensors.
  void WriteWeights() {
    std::vector<st::TensorView> views;
    std::vector<at::Tensor> keep;
    for (auto& [name, t] : tensors_) {
      at::Tensor c = t.contiguous();
      keep.push_back(c);
      st::DType d = c.scalar_type() == at::kLong ? st::DType::kI64 : st::DType::kF32;
      views.push_back({name, d, c.sizes().vec(), c.data_ptr()});
    }
    ASSERT_THAT(st::Write(tmp_.Join(st::kSingleFileName), views), IsOk());
  }
  std::unique_ptr<Transformer> model_;
  std::map<std::string, at::Tensor> tensors_;
  TempDir tmp_;
};

TEST_F(BadModelDirTest, ControlLoads) {
  WriteWeights();
  EXPECT_THAT(LoadModel(tmp_.path()), IsOk());
}

TEST_F(BadModelDirTest, MissingConfig) {
  std::filesystem::remove(tmp_.Join("config.json"));
  EXPECT_THAT(LoadModel(tmp_.path()), StatusIs(absl::StatusCode::kNotFound, "config.json"));
}

TEST_F(BadModelDirTest, InvalidConfig) {
  testing::WriteFile(tmp_.Join("config.json"), R"({"model_type": "llama", "vocab_size": 61})");
  EXPECT_THAT(LoadModel(tmp_.path()),
              StatusIs(absl::StatusCode::kInvalidArgument, "config.json: 'hidden_size' is required"));
}

TEST_F(BadModelDirTest, MissingTensor) {
  tensors_.erase("model.layers.1.mlp.up_proj.weight");
  WriteWeights();
  EXPECT_THAT(LoadModel(tmp_.path()), StatusIs(absl::StatusCode::kInvalidArgument,
                                               "1 tensor(s) that LlamaForCausalLM needs are missing, "
                                               "e.g. 'model.layers.1.mlp.up_proj.weight'"));
}

TEST_F(BadModelDirTest, WrongShape) {
  tensors_["model.layers.0.self_attn.k_proj.weight"] = at::zeros({8, 32});
  WriteWeights();
  EXPECT_THAT(LoadModel(tmp_.path()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "tensor 'model.layers.0.self_attn.k_proj.weight' has shape [8, 32] but"));
}

TEST_F(BadModelDirTest, UnexpectedTensor) {
  tensors_["model.layers.2.mlp.up_proj.weight"] = at::zeros({48, 32});  // a layer the config lacks
  WriteWeights();
  EXPECT_THAT(LoadModel(tmp_.path()),
              StatusIs(absl::StatusCode::kInvalidArgument, "unexpected tensor 'model.layers.2.mlp.up_proj.weight'"));
}

TEST_F(BadModelDirTest, IntegerWeights) {
  tensors_["model.norm.weight"] = at::ones({32}, at::kLong);
  WriteWeights();
  EXPECT_THAT(LoadModel(tmp_.path()), StatusIs(absl::StatusCode::kInvalidArgument,
                                               "'model.norm.weight': dtype I64 is not a floating-point type"));
}

TEST_F(BadModelDirTest, TruncatedWeightsFile) {
  std::string bytes = testing::ReadFile(tmp_.Join(st::kSingleFileName));
  testing::WriteFile(tmp_.Join(st::kSingleFileName), bytes.substr(0, bytes.size() - 100));
  EXPECT_THAT(LoadModel(tmp_.path()),
              StatusIs(absl::StatusCode::kInvalidArgument, "model.safetensors: invalid safetensors"));
}

TEST_F(BadModelDirTest, HfLeftoversAreAccepted) {
  tensors_["model.layers.0.self_attn.rotary_emb.inv_freq"] = at::ones({4});  // old Llama checkpoints carry it
  WriteWeights();
  EXPECT_THAT(LoadModel(tmp_.path()), IsOk());
}

}  // namespace
}  // namespace rto
