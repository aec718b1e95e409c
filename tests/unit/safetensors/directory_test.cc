#include "common/safetensors/directory.h"

#include <filesystem>

#include "nlohmann/json.hpp"
#include "tests/testing/test_util.h"

namespace rto::safetensors {
namespace {

using rto::testing::IsOk;
using rto::testing::StatusIs;
using rto::testing::TempDir;
namespace fs = std::filesystem;

class DirectoryTest : public ::testing::Test {
 protected:
  DirectoryTest() {
    for (int i = 0; i < 5; ++i) {
      data_.push_back(std::vector<float>(100, static_cast<float>(i)));
      views_.push_back({"t" + std::to_string(i), DType::kF32, {10, 10}, data_.back().data()});
    }
  }
  std::vector<std::vector<float>> data_;
  std::vector<TensorView> views_;
  TempDir tmp_;
};

TEST_F(DirectoryTest, ShardedWriteProducesHfShardsAndIndexThatReadBack) {
  ASSERT_THAT(WriteDirectory(tmp_.path(), views_, /*max_shard_bytes=*/900), IsOk());
  EXPECT_FALSE(fs::exists(tmp_.Join(kSingleFileName)));
  EXPECT_TRUE(fs::exists(tmp_.Join("model-00001-of-00003.safetensors")));
  EXPECT_TRUE(fs::exists(tmp_.Join("model-00003-of-00003.safetensors")));
  auto index = nlohmann::json::parse(testing::ReadFile(tmp_.Join(kIndexFileName)));
  EXPECT_EQ(index["metadata"]["total_size"], 2000);
  EXPECT_EQ(index["weight_map"]["t4"], "model-00003-of-00003.safetensors");

  auto dir = Directory::Open(tmp_.path());
  ASSERT_THAT(dir, IsOk());
  EXPECT_EQ((*dir)->files().size(), 3u);
  ASSERT_EQ((*dir)->tensors().size(), 5u);
  for (int i = 0; i < 5; ++i) {
    const auto& e = (*dir)->tensors().at("t" + std::to_string(i));
    EXPECT_EQ(std::memcmp(e.file->Data(*e.info), data_[i].data(), 400), 0);
  }
}

TEST_F(DirectoryTest, SwitchingLayoutRemovesTheOldWeights) {
  ASSERT_THAT(WriteDirectory(tmp_.path(), views_, 900), IsOk());
  ASSERT_THAT(WriteDirectory(tmp_.path(), views_, 0), IsOk());
  EXPECT_TRUE(fs::exists(tmp_.Join(kSingleFileName)));
  EXPECT_FALSE(fs::exists(tmp_.Join(kIndexFileName)));
  EXPECT_FALSE(fs::exists(tmp_.Join("model-00001-of-00003.safetensors")));
  ASSERT_THAT(WriteDirectory(tmp_.path(), views_, 900), IsOk());
  EXPECT_FALSE(fs::exists(tmp_.Join(kSingleFileName)));
}

TEST_F(DirectoryTest, MissingWeightsIsNotFound) {
  EXPECT_THAT(Directory::Open(tmp_.path()), StatusIs(absl::StatusCode::kNotFound, "no model.safetensors"));
  testing::WriteFile(tmp_.Join("pytorch_model.bin"), "x");
  EXPECT_THAT(Directory::Open(tmp_.path()), StatusIs(absl::StatusCode::kNotFound, "convert it to safetensors"));
}

class BadIndexTest : public DirectoryTest {
 protected:
  void SetUp() override { ASSERT_THAT(WriteDirectory(tmp_.path(), views_, 900), IsOk()); }
  void RewriteIndex(const std::function<void(nlohmann::json&)>& edit) {
    auto index = nlohmann::json::parse(testing::ReadFile(tmp_.Join(kIndexFileName)));
    edit(index);
    testing::WriteFile(tmp_.Join(kIndexFileName), index.dump());
  }
};

TEST_F(BadIndexTest, NotJson) {
  testing::WriteFile(tmp_.Join(kIndexFileName), "{oops");
  EXPECT_THAT(Directory::Open(tmp_.path()), StatusIs(absl::StatusCode::kInvalidArgument, "not valid JSON"));
}

TEST_F(BadIndexTest, NoWeightMap) {
  RewriteIndex([](nlohmann::json& j) { j.erase("weight_map"); });
  EXPECT_THAT(Directory::Open(tmp_.path()),
              StatusIs(absl::StatusCode::kInvalidArgument, "missing object 'weight_map'"));
}

TEST_F(BadIndexTest, ShardOutsideTheDirectory) {
  RewriteIndex([](nlohmann::json& j) { j["weight_map"]["t0"] = "../model-00001-of-00003.safetensors"; });
  EXPECT_THAT(Directory::Open(tmp_.path()), StatusIs(absl::StatusCode::kInvalidArgument, "not a plain file name"));
}

TEST_F(BadIndexTest, MissingShard) {
  RewriteIndex([](nlohmann::json& j) { j["weight_map"]["t0"] = "model-00009-of-00009.safetensors"; });
  EXPECT_THAT(Directory::Open(tmp_.path()), StatusIs(absl::StatusCode::kNotFound, "model-00009-of-00009"));
}

TEST_F(BadIndexTest, TensorMappedToTheWrongShard) {
  RewriteIndex([](nlohmann::json& j) { j["weight_map"]["t0"] = "model-00003-of-00003.safetensors"; });
  EXPECT_THAT(Directory::Open(tmp_.path()), StatusIs(absl::StatusCode::kInvalidArgument,
                                                     "tensor 't0' is mapped to model-00003-of-00003.safetensors"));
}

TEST_F(BadIndexTest, TensorInAShardButNotInTheIndex) {
  RewriteIndex([](nlohmann::json& j) { j["weight_map"].erase("t1"); });
  EXPECT_THAT(Directory::Open(tmp_.path()), StatusIs(absl::StatusCode::kInvalidArgument, "tensor 't1' is not mapped"));
}

}  // namespace
}  // namespace rto::safetensors
