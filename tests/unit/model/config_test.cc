#include "common/model/config.h"

#include "nlohmann/json.hpp"
#include "tests/testing/test_util.h"

namespace rto {
namespace {

using nlohmann::json;
using testing::IsOk;
using testing::StatusIs;

json TinyLlama() {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"vocab_size", 512},
          {"hidden_size", 64},
          {"intermediate_size", 176},
          {"num_hidden_layers", 2},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"eos_token_id", 2}};
}

absl::StatusOr<ModelConfig> Parse(const json& j) { return ParseModelConfig(j.dump(), "cfg.json"); }

TEST(ModelConfigTest, ParsesLlamaWithDefaults) {
  auto c = Parse(TinyLlama());
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->head_dim, 16);
  EXPECT_EQ(c->head, HeadKind::kLanguageModel);
  EXPECT_FALSE(c->qkv_bias);
  EXPECT_FALSE(c->tie_word_embeddings);
  EXPECT_EQ(c->eos_token_ids, std::vector<int64_t>{2});
  // Counted by hand: embeddings 32768, 2 layers x 46208, final norm 64, lm_head 32768.
  EXPECT_EQ(c->NumParameters(), 158016);
}

TEST(ModelConfigTest, FamilySpecificFields) {
  json q = TinyLlama();
  q["model_type"] = "qwen2";
  q["architectures"] = {"Qwen2ForSequenceClassification"};
  q["sliding_window"] = 4;  // ignored unless use_sliding_window
  q["eos_token_id"] = {2, 3};
  auto c = Parse(q);
  ASSERT_THAT(c, IsOk());
  EXPECT_TRUE(c->qkv_bias);
  EXPECT_FALSE(c->o_bias);
  EXPECT_FALSE(c->sliding_window.has_value());
  EXPECT_EQ(c->head, HeadKind::kScore);
  EXPECT_EQ(c->eos_token_ids, (std::vector<int64_t>{2, 3}));

  json m = TinyLlama();
  m["model_type"] = "mistral";
  m["sliding_window"] = 4096;
  m["head_dim"] = 32;
  c = Parse(m);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(*c->sliding_window, 4096);
  EXPECT_EQ(c->head_dim, 32);

  json l = TinyLlama();
  l["attention_bias"] = true;
  l["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"original_max_position_embeddings", 8192}};
  c = Parse(l);
  ASSERT_THAT(c, IsOk());
  EXPECT_TRUE(c->qkv_bias && c->o_bias);
  EXPECT_EQ(c->rope_scaling.type, RopeScaling::Type::kLlama3);
  EXPECT_EQ(c->rope_scaling.original_max_position_embeddings, 8192);
}

TEST(ModelConfigTest, ReadsTheTransformers5RopeLayout) {
  json l = TinyLlama();
  l["rope_theta"] = 1.0;  // the nested value wins
  l["rope_parameters"] = {
      {"rope_type", "llama3"}, {"rope_theta", 500000.0}, {"factor", 8.0}, {"original_max_position_embeddings", 16}};
  auto c = Parse(l);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->rope_theta, 500000.0);
  EXPECT_EQ(c->rope_scaling.type, RopeScaling::Type::kLlama3);
  EXPECT_EQ(c->rope_scaling.factor, 8.0);
  l["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1e6}};
  c = Parse(l);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->rope_theta, 1e6);
  EXPECT_EQ(c->rope_scaling.type, RopeScaling::Type::kNone);
}

TEST(ModelConfigTest, JsonRoundTripKeepsEveryField) {
  json l = TinyLlama();
  l["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2.0}};
  l["tie_word_embeddings"] = true;
  l["torch_dtype"] = "bfloat16";
  l["pad_token_id"] = 0;
  auto c = Parse(l);
  ASSERT_THAT(c, IsOk());
  auto back = ParseModelConfig(ModelConfigToJson(*c), "again");
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(ModelConfigToJson(*back), ModelConfigToJson(*c));
  EXPECT_EQ(back->rope_scaling.type, RopeScaling::Type::kLinear);
  EXPECT_EQ(back->rope_scaling.factor, 2.0);
  EXPECT_TRUE(back->tie_word_embeddings);
  EXPECT_EQ(back->torch_dtype, "bfloat16");
  EXPECT_EQ(*back->pad_token_id, 0);
}

struct BadConfig {
  std::string label;
  std::function<void(json&)> edit;
  std::string expected;
};

class BadConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigTest, IsRejectedNamingTheKey) {
  json j = TinyLlama();
  GetParam().edit(j);
  EXPECT_THAT(Parse(j), StatusIs(absl::StatusCode::kInvalidArgument, GetParam().expected));
}

INSTANTIATE_TEST_SUITE_P(
    Corpus, BadConfigTest,
    ::testing::Values(
        BadConfig{"missing_vocab", [](json& j) { j.erase("vocab_size"); }, "cfg.json: 'vocab_size' is required"},
        BadConfig{"string_dim", [](json& j) { j["hidden_size"] = "64"; },
                  "'hidden_size' must be an integer, got string"},
        BadConfig{"zero_layers", [](json& j) { j["num_hidden_layers"] = 0; }, "'num_hidden_layers' is 0, outside"},
        BadConfig{"heads_not_dividing",
                  [](json& j) {
                    j["num_attention_heads"] = 5;
                    j["num_key_value_heads"] = 5;
                  },
                  "does not divide hidden_size"},
        BadConfig{"kv_not_dividing", [](json& j) { j["num_key_value_heads"] = 3; },
                  "does not divide num_attention_heads"},
        BadConfig{"odd_head_dim", [](json& j) { j["head_dim"] = 15; }, "rotary embeddings need it even"},
        BadConfig{"model_type", [](json& j) { j["model_type"] = "gpt2"; }, "supported: llama, mistral, qwen2"},
        BadConfig{"arch", [](json& j) { j["architectures"] = {"LlamaModel"}; }, "supported: *ForCausalLM"},
        BadConfig{"act", [](json& j) { j["hidden_act"] = "gelu"; }, "only silu"},
        BadConfig{"labels",
                  [](json& j) {
                    j["architectures"] = {"LlamaForSequenceClassification"};
                    j["num_labels"] = 3;
                  },
                  "exactly 1"},
        BadConfig{"rope_type",
                  [](json& j) {
                    j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
                  },
                  "rope_scaling type 'yarn' is not supported"},
        BadConfig{"eps", [](json& j) { j["rms_norm_eps"] = -1; }, "'rms_norm_eps' is -1"},
        BadConfig{"eos_range", [](json& j) { j["eos_token_id"] = 600; }, "outside the vocabulary of 512"},
        BadConfig{"dtype", [](json& j) { j["torch_dtype"] = "int8"; }, "'torch_dtype' is 'int8'"},
        BadConfig{"bool", [](json& j) { j["tie_word_embeddings"] = 1; }, "must be true or false"},
        BadConfig{"qwen2_window",
                  [](json& j) {
                    j["model_type"] = "qwen2";
                    j["use_sliding_window"] = true;
                  },
                  "per-layer sliding window is not supported"},
        BadConfig{"rope_parameters",
                  [](json& j) {
                    j["rope_parameters"] = {{"rope_type", "dynamic"}};
                  },
                  "rope_parameters: rope_scaling type 'dynamic' is not supported"}),
    [](const ::testing::TestParamInfo<BadConfig>& info) { return info.param.label; });

TEST(ModelConfigTest, NotJsonOrNotObject) {
  EXPECT_THAT(ParseModelConfig("{", "c.json"), StatusIs(absl::StatusCode::kInvalidArgument, "c.json: not valid JSON"));
  EXPECT_THAT(ParseModelConfig("[]", "c.json"), StatusIs(absl::StatusCode::kInvalidArgument, "not a JSON object"));
  EXPECT_THAT(LoadModelConfig("/nonexistent/config.json"),
              StatusIs(absl::StatusCode::kNotFound, "/nonexistent/config.json"));
}

}  // namespace
}  // namespace rto
