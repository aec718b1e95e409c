#include "common/model/transformer.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <map>

#include "tests/testing/test_util.h"
#include "tests/testing/tiny_models.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::RandomModel;
using testing::StatusIs;
using testing::TinyConfig;

// ---------------------------------------------------------------------------------------
// An independent reference: the decoder written as plain loops over doubles, following the
// HF modeling code line by line rather than the ATen implementation. One unpadded sequence.
class NaiveDecoder {
 public:
  explicit NaiveDecoder(const Transformer& model) : c_(model.config()) {
    for (const NamedParameter& p : model.parameters()) {
      at::Tensor t = p.tensor.to(at::kDouble).contiguous();
      w_[p.name] = std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
    }
  }

  // Logits [T][vocab] (LM head) or scores [T][1] (score head).
  std::vector<std::vector<double>> Run(const std::vector<int64_t>& tokens) const {
    const int64_t T = tokens.size(), H = c_.hidden_size, hd = c_.head_dim;
    const int64_t nh = c_.num_attention_heads, nkv = c_.num_key_value_heads;
    std::vector<std::vector<double>> x(T, std::vector<double>(H));
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t i = 0; i < H; ++i) x[t][i] = W("model.embed_tokens.weight")[tokens[t] * H + i];
    }
    for (int64_t l = 0; l < c_.num_hidden_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      std::vector<std::vector<double>> attn_out(T);
      std::vector<std::vector<double>> q(T), k(T), v(T);
      for (int64_t t = 0; t < T; ++t) {
        auto h = Norm(x[t], p + "input_layernorm.weight");
        q[t] = MatVec(p + "self_attn.q_proj", h, nh * hd);
        k[t] = MatVec(p + "self_attn.k_proj", h, nkv * hd);
        v[t] = MatVec(p + "self_attn.v_proj", h, nkv * hd);
        Rope(q[t], nh, t);
        Rope(k[t], nkv, t);
      }
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> out(nh * hd, 0.0);
        for (int64_t head = 0; head < nh; ++head) {
          const int64_t kvh = head / (nh / nkv);
          std::vector<double> score;
          double best = -1e300;
          int64_t first = c_.sliding_window ? std::max<int64_t>(0, t - *c_.sliding_window + 1) : 0;
          for (int64_t s = first; s <= t; ++s) {
            double dot = 0;
            for (int64_t d = 0; d < hd; ++d) dot += q[t][head * hd + d] * k[s][kvh * hd + d];
            score.push_back(dot / std::sqrt(static_cast<double>(hd)));
            best = std::max(best, score.back());
          }
          double total = 0;
          for (double& s : score) total += (s = std::exp(s - best));
          for (int64_t s = first; s <= t; ++s) {
            for (int64_t d = 0; d < hd; ++d) out[head * hd + d] += score[s - first] / total * v[s][kvh * hd + d];
          }
        }
        attn_out[t] = MatVec(p + "self_attn.o_proj", out, H);
      }
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t i = 0; i < H; ++i) x[t][i] += attn_out[t][i];
        auto h = Norm(x[t], p + "post_attention_layernorm.weight");
        auto gate = MatVec(p + "mlp.gate_proj", h, c_.intermediate_size);
        auto up = MatVec(p + "mlp.up_proj", h, c_.intermediate_size);
        for (int64_t i = 0; i < c_.intermediate_size; ++i) gate[i] = gate[i] / (1 + std::exp(-gate[i])) * up[i];
        auto down = MatVec(p + "mlp.down_proj", gate, H);
        for (int64_t i = 0; i < H; ++i) x[t][i] += down[i];
      }
    }
    std::vector<std::vector<double>> out;
    for (int64_t t = 0; t < T; ++t) {
      auto h = Norm(x[t], "model.norm.weight");
      if (c_.head == HeadKind::kScore) {
        out.push_back(MatVec("score", h, 1));
      } else {
        out.push_back(MatVec(c_.tie_word_embeddings ? "model.embed_tokens" : "lm_head", h, c_.vocab_size));
      }
    }
    return out;
  }

 private:
  const std::vector<double>& W(const std::string& name) const { return w_.at(name); }

  std::vector<double> MatVec(const std::string& prefix, const std::vector<double>& x, int64_t rows) const {
    const auto& w = W(prefix + ".weight");
    const int64_t cols = x.size();
    std::vector<double> y(rows, 0.0);
    auto bias = w_.find(prefix + ".bias");
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t i = 0; i < cols; ++i) y[r] += w[r * cols + i] * x[i];
      if (bias != w_.end()) y[r] += bias->second[r];
    }
    return y;
  }

  std::vector<double> Norm(const std::vector<double>& x, const std::string& name) const {
    double ms = 0;
    for (double v : x) ms += v * v;
    ms /= x.size();
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = W(name)[i] * x[i] / std::sqrt(ms + c_.rms_norm_eps);
    return y;
  }

  // HF rotate-half: dimension d pairs with d + head_dim/2.
  void Rope(std::vector<double>& x, int64_t heads, int64_t pos) const {
    const int64_t hd = c_.head_dim, half = hd / 2;
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t d = 0; d < half; ++d) {
        double angle = pos * std::pow(c_.rope_theta, -2.0 * d / hd);
        double a = x[h * hd + d], b = x[h * hd + d + half];
        x[h * hd + d] = a * std::cos(angle) - b * std::sin(angle);
        x[h * hd + d + half] = b * std::cos(angle) + a * std::sin(angle);
      }
    }
  }

  ModelConfig c_;
  std::map<std::string, std::vector<double>> w_;
};

at::Tensor Ids(const std::vector<int64_t>& v) { return at::tensor(v, at::kLong).unsqueeze(0); }

void ExpectMatchesNaive(const Transformer& model, const std::vector<int64_t>& tokens, double tol) {
  NaiveDecoder naive(model);
  auto expected = naive.Run(tokens);
  c10::NoGradGuard no_grad;
  at::Tensor hidden = model.Forward(Ids(tokens), at::ones({1, (int64_t)tokens.size()}, at::kLong));
  at::Tensor got =
      model.config().head == HeadKind::kScore ? model.Scores(hidden)[0].unsqueeze(-1) : model.Logits(hidden)[0];
  ASSERT_EQ(got.size(0), (int64_t)expected.size());
  double max_err = 0;
  for (size_t t = 0; t < expected.size(); ++t) {
    for (size_t v = 0; v < expected[t].size(); ++v) {
      max_err = std::max(max_err, std::abs(got[t][v].item<double>() - expected[t][v]));
    }
  }
  EXPECT_LT(max_err, tol);
}

const std::vector<int64_t> kTokens = {5, 17, 3, 42, 8, 60, 1, 23, 9};

TEST(TransformerTest, MatchesNaiveReferenceMultiHead) {
  ExpectMatchesNaive(*RandomModel(TinyConfig(4), 1), kTokens, 1e-4);
}

TEST(TransformerTest, MatchesNaiveReferenceGroupedQuery) {
  ExpectMatchesNaive(*RandomModel(TinyConfig(2), 2), kTokens, 1e-4);
}

TEST(TransformerTest, MatchesNaiveReferenceMultiQueryWithAllBiasesAndTiedEmbeddings) {
  ModelConfig c = TinyConfig(1);
  c.qkv_bias = c.o_bias = c.mlp_bias = true;
  c.tie_word_embeddings = true;
  c.rope_theta = 500.0;
  ExpectMatchesNaive(*RandomModel(c, 3), kTokens, 1e-4);
}

TEST(TransformerTest, MatchesNaiveReferenceWithSlidingWindow) {
  ModelConfig c = TinyConfig(2);
  c.model_type = "mistral";
  c.sliding_window = 3;
  ExpectMatchesNaive(*RandomModel(c, 4), kTokens, 1e-4);
}

TEST(TransformerTest, ScoreHeadMatchesNaiveReference) {
  ModelConfig c = TinyConfig(2);
  c.head = HeadKind::kScore;
  ExpectMatchesNaive(*RandomModel(c, 5), kTokens, 1e-4);
}

// A left-padded batch of three prompts of different lengths.
struct PaddedBatch {
  at::Tensor ids, mask;
  std::vector<std::vector<int64_t>> rows;
};
PaddedBatch LeftPadded() {
  PaddedBatch b;
  b.rows = {{5, 17, 3, 42, 8, 60, 1, 23, 9}, {11, 12, 13, 14}, {7, 30, 2, 50, 44, 19}};
  const int64_t T = 9;
  b.ids = at::zeros({3, T}, at::kLong);
  b.mask = at::zeros({3, T}, at::kLong);
  for (int64_t r = 0; r < 3; ++r) {
    const int64_t n = b.rows[r].size(), off = T - n;
    for (int64_t t = 0; t < n; ++t) b.ids[r][off + t] = b.rows[r][t];
    b.mask[r].narrow(0, off, n).fill_(1);
  }
  return b;
}

TEST(TransformerTest, LeftPaddingDoesNotChangeRealPositions) {
  auto model = RandomModel(TinyConfig(2), 6);
  c10::NoGradGuard no_grad;
  PaddedBatch b = LeftPadded();
  at::Tensor batch_logits = model->Logits(model->Forward(b.ids, b.mask));
  for (int64_t r = 0; r < 3; ++r) {
    const int64_t n = b.rows[r].size();
    at::Tensor alone = model->Logits(model->Forward(Ids(b.rows[r]), at::ones({1, n}, at::kLong)))[0];
    EXPECT_TRUE(at::allclose(batch_logits[r].narrow(0, 9 - n, n), alone, 1e-5, 1e-5)) << "row " << r;
  }
  EXPECT_FALSE(at::isnan(batch_logits).any().item<bool>()) << "pad rows must stay finite";
}

TEST(TransformerTest, RightPaddingDoesNotChangeRealPositions) {
  auto model = RandomModel(TinyConfig(2), 7);
  c10::NoGradGuard no_grad;
  at::Tensor ids = at::tensor({4, 5, 6, 0, 0}, at::kLong).unsqueeze(0);
  at::Tensor mask = at::tensor({1, 1, 1, 0, 0}, at::kLong).unsqueeze(0);
  at::Tensor padded = model->Logits(model->Forward(ids, mask))[0].narrow(0, 0, 3);
  at::Tensor alone = model->Logits(model->Forward(Ids({4, 5, 6}), at::ones({1, 3}, at::kLong)))[0];
  EXPECT_TRUE(at::allclose(padded, alone, 1e-5, 1e-5));
}

void ExpectCachedEqualsFull(int64_t kv_heads) {
  auto model = RandomModel(TinyConfig(kv_heads), 10 + kv_heads);
  c10::NoGradGuard no_grad;
  PaddedBatch b = LeftPadded();
  const int64_t T = b.ids.size(1);
  at::Tensor full = model->Logits(model->Forward(b.ids, b.mask));

  // Prefill 4 slots (row 1 is still all padding there), then one token at a time.
  KVCache cache = model->NewCache(3, T);
  std::vector<at::Tensor> pieces = {
      model->Logits(model->Forward(b.ids.narrow(1, 0, 4), b.mask.narrow(1, 0, 4), &cache))};
  for (int64_t t = 4; t < T; ++t) {
    pieces.push_back(model->Logits(model->Forward(b.ids.narrow(1, t, 1), b.mask.narrow(1, t, 1), &cache)));
  }
  EXPECT_EQ(cache.length(), T);
  at::Tensor incremental = at::cat(pieces, 1);
  at::Tensor real = b.mask.to(at::kBool).unsqueeze(-1).expand_as(full);
  double err = (full - incremental).abs().masked_select(real).max().item<double>();
  EXPECT_LT(err, 1e-5);
}

TEST(TransformerTest, KvCacheEqualsFullForwardMultiHead) { ExpectCachedEqualsFull(4); }
TEST(TransformerTest, KvCacheEqualsFullForwardGroupedQuery) { ExpectCachedEqualsFull(2); }

TEST(TransformerTest, KvCacheSelectRowsKeepsTheRemainingSequencesExact) {
  auto model = RandomModel(TinyConfig(2), 20);
  c10::NoGradGuard no_grad;
  PaddedBatch b = LeftPadded();
  KVCache cache = model->NewCache(3, 12);
  model->Forward(b.ids, b.mask, &cache);
  cache.SelectRows(at::tensor({2, 0}, at::kLong));  // drop row 1, reorder
  at::Tensor next = at::tensor({33, 34}, at::kLong).unsqueeze(1);
  at::Tensor step = model->Logits(model->Forward(next, at::ones({2, 1}, at::kLong), &cache)).select(1, 0);
  for (int64_t i = 0; i < 2; ++i) {
    std::vector<int64_t> seq = b.rows[i == 0 ? 2 : 0];
    seq.push_back(next[i][0].item<int64_t>());
    at::Tensor alone = model->Logits(model->Forward(Ids(seq), at::ones({1, (int64_t)seq.size()}, at::kLong)))[0][-1];
    EXPECT_TRUE(at::allclose(step[i], alone, 1e-5, 1e-5)) << "row " << i;
  }
}

TEST(TransformerTest, TokenLogProbsEqualLogSoftmaxGather) {
  auto model = RandomModel(TinyConfig(2), 30);
  c10::NoGradGuard no_grad;
  PaddedBatch b = LeftPadded();
  at::Tensor hidden = model->Forward(b.ids, b.mask);
  at::Tensor targets = at::randint(0, 61, {3, 9}, at::kLong);
  for (double temperature : {1.0, 0.7}) {
    at::Tensor expected =
        at::log_softmax(model->Logits(hidden) / temperature, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
    // A chunk of 5 rows does not divide the 27 positions: the last chunk is partial.
    at::Tensor got = model->TokenLogProbs(hidden, targets, temperature, /*chunk_tokens=*/5);
    EXPECT_EQ(got.sizes(), targets.sizes());
    EXPECT_TRUE(at::allclose(got, expected, 1e-5, 1e-5)) << "temperature " << temperature;
  }
}

TEST(TransformerTest, TokenLogProbsBackpropagateToTheWeights) {
  auto model = RandomModel(TinyConfig(2), 31);
  const at::Tensor* head = model->FindParameter("lm_head.weight");
  head->set_requires_grad(true);
  at::Tensor hidden = model->Forward(Ids(kTokens), at::ones({1, 9}, at::kLong));
  model->TokenLogProbs(hidden, Ids(kTokens), 1.0, 4).sum().backward();
  ASSERT_TRUE(head->grad().defined());
  EXPECT_GT(head->grad().abs().sum().item<double>(), 0);
}

// The chunked backward pass (which recomputes logits) against autograd through log_softmax and
// gather, in float64: the gradients of the hidden states and of the head weight agree.
TEST(TransformerTest, TokenLogProbsGradientsEqualThoseOfLogSoftmaxGather) {
  auto model = RandomModel(TinyConfig(2), 33, at::kDouble);
  const at::Tensor* head = model->FindParameter("lm_head.weight");
  head->set_requires_grad(true);
  PaddedBatch b = LeftPadded();
  at::Tensor hidden = model->Forward(b.ids, b.mask).detach().requires_grad_(true);
  at::Tensor targets = at::randint(0, 61, {3, 9}, at::kLong);
  at::Tensor weights = at::randn({3, 9}, at::kDouble);  // an upstream gradient that varies by position
  for (double temperature : {1.0, 0.7}) {
    auto grads = [&](bool chunked) {
      at::Tensor lp =
          chunked
              ? model->TokenLogProbs(hidden, targets, temperature, /*chunk_tokens=*/4)
              : at::log_softmax(model->Logits(hidden) / temperature, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
      (lp * weights).sum().backward();
      std::pair<at::Tensor, at::Tensor> out = {hidden.grad().clone(), head->grad().clone()};
      hidden.mutable_grad().reset();
      head->mutable_grad().reset();
      return out;
    };
    auto [h_chunked, w_chunked] = grads(true);
    auto [h_reference, w_reference] = grads(false);
    EXPECT_TRUE(at::allclose(h_chunked, h_reference, 1e-10, 1e-12)) << "temperature " << temperature;
    EXPECT_TRUE(at::allclose(w_chunked, w_reference, 1e-10, 1e-12)) << "temperature " << temperature;
    EXPECT_GT(w_chunked.abs().sum().item<double>(), 0);
  }
}

// Checkpointed layers recompute in backward: the same loss and the same gradient of every
// parameter (biases, tied embeddings and padding included), in float64 and float32.
TEST(TransformerTest, ActivationCheckpointingGivesTheSameGradients) {
  for (at::ScalarType dtype : {at::kDouble, at::kFloat}) {
    ModelConfig c = TinyConfig(2);
    c.qkv_bias = c.o_bias = true;
    c.tie_word_embeddings = true;
    auto model = RandomModel(c, 35, dtype);
    for (const NamedParameter& p : model->parameters()) p.tensor.set_requires_grad(true);
    PaddedBatch b = LeftPadded();
    auto run = [&](bool checkpointing) {
      model->SetActivationCheckpointing(checkpointing);
      at::Tensor loss = model->TokenLogProbs(model->Forward(b.ids, b.mask), b.ids).mul(b.mask).sum();
      loss.backward();
      std::vector<at::Tensor> grads;
      for (const NamedParameter& p : model->parameters()) {
        grads.push_back(p.tensor.grad().clone());
        p.tensor.mutable_grad().reset();
      }
      return std::pair{loss.item<double>(), grads};
    };
    auto [loss_plain, plain] = run(false);
    auto [loss_checkpointed, checkpointed] = run(true);
    EXPECT_EQ(loss_plain, loss_checkpointed);
    const double rtol = dtype == at::kDouble ? 1e-12 : 1e-5;
    for (size_t i = 0; i < plain.size(); ++i) {
      EXPECT_TRUE(at::allclose(checkpointed[i], plain[i], rtol, rtol * 1e-2)) << model->parameters()[i].name;
      EXPECT_GT(plain[i].abs().sum().item<double>(), 0) << model->parameters()[i].name;
    }
    // Without autograd (scoring, generation) nothing changes.
    c10::NoGradGuard no_grad;
    at::Tensor checkpointed_hidden = model->Forward(b.ids, b.mask);
    model->SetActivationCheckpointing(false);
    EXPECT_TRUE(at::equal(checkpointed_hidden, model->Forward(b.ids, b.mask)));
  }
}

TEST(TransformerTest, ScoresAtTheLastRealTokenOfRightPaddedRows) {
  ModelConfig c = TinyConfig(2);
  c.head = HeadKind::kScore;
  auto model = RandomModel(c, 32);
  c10::NoGradGuard no_grad;
  at::Tensor ids = at::tensor({4, 5, 6, 0, 0, 7, 8, 9, 10, 11}, at::kLong).view({2, 5});
  at::Tensor mask = at::tensor({1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, at::kLong).view({2, 5});
  at::Tensor last = LastTokenIndex(mask);
  EXPECT_EQ(last[0].item<int64_t>(), 2);
  EXPECT_EQ(last[1].item<int64_t>(), 4);
  at::Tensor scores = model->Scores(model->Forward(ids, mask));
  at::Tensor reward = scores.gather(1, last.unsqueeze(1)).squeeze(1);
  at::Tensor alone = model->Scores(model->Forward(Ids({4, 5, 6}), at::ones({1, 3}, at::kLong)))[0][2];
  EXPECT_NEAR(reward[0].item<double>(), alone.item<double>(), 1e-5);
}

TEST(TransformerTest, InitIsDeterministicAndDtypeIndependent) {
  ModelConfig c = TinyConfig(2);
  auto a = Transformer::Create(c, at::kFloat, at::kCPU);
  auto b = Transformer::Create(c, at::kFloat, at::kCPU);
  auto bf = Transformer::Create(c, at::kBFloat16, at::kCPU);
  auto other = Transformer::Create(c, at::kFloat, at::kCPU);
  (*a)->InitRandom(9);
  (*b)->InitRandom(9);
  (*bf)->InitRandom(9);
  (*other)->InitRandom(10);
  const auto& pa = (*a)->parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(at::equal(pa[i].tensor, (*b)->parameters()[i].tensor)) << pa[i].name;
    EXPECT_TRUE(at::equal(pa[i].tensor.to(at::kBFloat16), (*bf)->parameters()[i].tensor)) << pa[i].name;
  }
  EXPECT_FALSE(at::equal(pa[0].tensor, (*other)->parameters()[0].tensor));
  EXPECT_NEAR(pa[0].tensor.std().item<double>(), c.initializer_range, 0.02);
}

TEST(TransformerTest, Bfloat16ForwardTracksFloat32) {
  auto fp32 = RandomModel(TinyConfig(2), 40);
  auto bf16 = Transformer::Create(fp32->config(), at::kBFloat16, at::kCPU);
  c10::NoGradGuard no_grad;
  for (size_t i = 0; i < fp32->parameters().size(); ++i)
    (*bf16)->parameters()[i].tensor.copy_(fp32->parameters()[i].tensor);
  at::Tensor mask = at::ones({1, 9}, at::kLong);
  at::Tensor a = fp32->Logits(fp32->Forward(Ids(kTokens), mask));
  at::Tensor b = (*bf16)->Logits((*bf16)->Forward(Ids(kTokens), mask));
  EXPECT_EQ(b.scalar_type(), at::kFloat);
  // bf16 has 8 bits of mantissa: agreement to a few percent of the logit scale.
  EXPECT_LT((a - b).abs().max().item<double>(), 0.05 * a.abs().max().item<double>());
  EXPECT_EQ(a.argmax(-1).ne(b.argmax(-1)).sum().item<int64_t>(), 0);
}

TEST(TransformerTest, ValidateTokensNamesTheProblem) {
  auto model = RandomModel(TinyConfig(2), 50);
  at::Tensor mask = at::ones({1, 3}, at::kLong);
  EXPECT_THAT(model->ValidateTokens(Ids({1, 2, 3}), mask), IsOk());
  EXPECT_THAT(model->ValidateTokens(Ids({1, 61, 3}), mask),
              StatusIs(absl::StatusCode::kInvalidArgument, "token id 61 is outside the vocabulary [0, 61)"));
  EXPECT_THAT(model->ValidateTokens(Ids({1, -1, 3}), mask),
              StatusIs(absl::StatusCode::kInvalidArgument, "token id -1"));
  EXPECT_THAT(model->ValidateTokens(Ids({1, 2}), mask), StatusIs(absl::StatusCode::kInvalidArgument, "differs"));
  EXPECT_THAT(model->ValidateTokens(at::zeros({0, 3}, at::kLong), mask),
              StatusIs(absl::StatusCode::kInvalidArgument, "non-empty"));
  EXPECT_THAT(model->ValidateTokens(Ids({1, 2, 3}).to(at::kInt), mask),
              StatusIs(absl::StatusCode::kInvalidArgument, "int64"));
}

}  // namespace
}  // namespace rto
