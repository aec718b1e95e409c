#include "common/actors/trajectory_batch.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/actors/train_mini_batches.h"
#include "common/util/hash.h"
#include "common/util/status_macros.h"

namespace rto {

namespace {

// One row of a batch: the model's tokens, and where the state of each policy response token is.
struct BatchRow {
  std::vector<int64_t> prompt, response;  // the model's tokens
  std::vector<int64_t> state_of;          // per policy response token: model response tokens before it
  const std::vector<int64_t>* policy_response;
};

absl::StatusOr<BatchRow> RowOf(const Trajectory& t, const Retokenizer* retokenizer, int64_t vocab_size) {
  const std::string where = absl::StrCat("trajectory ", t.id, ": ");
  if (t.prompt.empty() || t.response.empty()) return absl::InvalidArgumentError(where + "an empty prompt or response");
  BatchRow row{.policy_response = &t.response};
  if (retokenizer == nullptr) {
    row.prompt = t.prompt;
    row.response = t.response;
    row.state_of.resize(t.response.size());
    std::iota(row.state_of.begin(), row.state_of.end(), 0);
  } else {
    absl::StatusOr<RetokenizedTrajectory> mapped = retokenizer->Map(t.prompt, t.response, t.stopped);
    if (!mapped.ok()) return absl::Status(mapped.status().code(), where + std::string(mapped.status().message()));
    if (mapped->prompt.empty() || mapped->response.empty()) {
      return absl::InvalidArgumentError(where + "an empty prompt or response in the model's own tokens");
    }
    row.prompt = std::move(mapped->prompt);
    row.response = std::move(mapped->response);
    row.state_of = std::move(mapped->state_of);
  }
  for (const std::vector<int64_t>* ids : {&row.prompt, &row.response}) {
    for (int64_t id : *ids) {
      if (id < 0 || id >= vocab_size) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "token id ", id, " is outside the vocabulary [0, ", vocab_size, ")"));
      }
    }
  }
  return row;
}

}  // namespace

absl::StatusOr<TrajectoryBatch> MakeTrajectoryBatch(const std::vector<Trajectory>& trajectories,
                                                    const Transformer& model, const Retokenizer* retokenizer) {
  if (trajectories.empty()) return absl::InvalidArgumentError("an empty batch of trajectories");
  std::vector<BatchRow> rows;
  int64_t max_len = 0, max_response = 0;
  for (const Trajectory& t : trajectories) {
    RTO_ASSIGN_OR_RETURN(BatchRow row, RowOf(t, retokenizer, model.config().vocab_size));
    max_len = std::max<int64_t>(max_len, row.prompt.size() + row.response.size());
    max_response = std::max<int64_t>(max_response, t.response.size());
    rows.push_back(std::move(row));
  }
  const int64_t b = trajectories.size();
  at::Tensor ids = at::zeros({b, max_len}, at::kLong), attention = at::zeros({b, max_len}, at::kLong);
  at::Tensor positions = at::zeros({b, max_response}, at::kLong), targets = at::zeros({b, max_response}, at::kLong);
  at::Tensor mask = at::zeros({b, max_response}, at::kFloat), last = at::zeros({b}, at::kLong);
  auto ids_a = ids.accessor<int64_t, 2>(), att_a = attention.accessor<int64_t, 2>();
  auto pos_a = positions.accessor<int64_t, 2>(), tgt_a = targets.accessor<int64_t, 2>();
  auto mask_a = mask.accessor<float, 2>();
  auto last_a = last.accessor<int64_t, 1>();
  for (int64_t i = 0; i < b; ++i) {
    const BatchRow& row = rows[i];
    const int64_t p = row.prompt.size(), r = row.response.size();
    for (int64_t j = 0; j < p; ++j) ids_a[i][j] = row.prompt[j];
    for (int64_t j = 0; j < r; ++j) ids_a[i][p + j] = row.response[j];
    for (int64_t j = 0; j < p + r; ++j) att_a[i][j] = 1;
    for (size_t j = 0; j < row.policy_response->size(); ++j) {
      pos_a[i][j] = p + row.state_of[j] - 1;
      tgt_a[i][j] = (*row.policy_response)[j];
      mask_a[i][j] = 1;
    }
    last_a[i] = p + r - 1;
  }
  const at::Device device = model.device();
  return TrajectoryBatch{ids.to(device),  attention.to(device), positions.to(device),
                         last.to(device), targets.to(device),   mask.to(device)};
}

at::Tensor ResponseStates(const at::Tensor& hidden, const TrajectoryBatch& batch) {
  at::Tensor index = batch.state_positions.unsqueeze(-1).expand({-1, -1, hidden.size(-1)});
  return hidden.gather(1, index);
}

at::Tensor ToTensor(const TokenValues& values, int64_t max_len) {
  at::Tensor out = at::zeros({static_cast<int64_t>(values.size()), max_len}, at::kFloat);
  auto a = out.accessor<float, 2>();
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j = 0; j < values[i].size(); ++j) a[i][j] = values[i][j];
  }
  return out;
}

TokenValues FromTensor(const at::Tensor& t, const at::Tensor& mask) {
  at::Tensor values = t.detach().to(at::kCPU).to(at::kFloat).contiguous();
  at::Tensor lengths = mask.to(at::kCPU).sum(-1).to(at::kLong);
  TokenValues out(values.size(0));
  auto a = values.accessor<float, 2>();
  for (int64_t i = 0; i < values.size(0); ++i) {
    const int64_t n = lengths[i].item<int64_t>();
    out[i].assign(&a[i][0], &a[i][0] + n);
  }
  return out;
}

absl::Status CheckTokenValues(const TokenValues& values, const std::vector<Trajectory>& trajectories,
                              const char* what) {
  if (values.size() != trajectories.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(values.size(), " rows of ", what, " for ", trajectories.size(), " trajectories"));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i].size() != trajectories[i].response.size()) {
      return absl::InvalidArgumentError(absl::StrCat("trajectory ", trajectories[i].id, ": ", values[i].size(), " ",
                                                     what, " for ", trajectories[i].response.size(), " tokens"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<at::Tensor> TokenValuesTensor(const TokenValues& values, const std::vector<Trajectory>& trajectories,
                                             const TrajectoryBatch& batch, const char* what) {
  RTO_RETURN_IF_ERROR(CheckTokenValues(values, trajectories, what));
  return ToTensor(values, batch.mask.size(1)).to(batch.mask.device());
}

at::Tensor TokenEntropy(const Transformer& model, const at::Tensor& states, double temperature, int64_t chunk_rows) {
  c10::NoGradGuard no_grad;
  at::Tensor flat = states.reshape({-1, states.size(-1)});
  std::vector<at::Tensor> parts;
  for (int64_t begin = 0; begin < flat.size(0); begin += chunk_rows) {
    at::Tensor logits = model.Logits(flat.narrow(0, begin, std::min(chunk_rows, flat.size(0) - begin)));
    if (temperature > 0 && temperature != 1.0) logits = logits / temperature;
    at::Tensor logp = at::log_softmax(logits, -1);
    parts.push_back(-(logp.exp() * logp).sum(-1));
  }
  return at::cat(parts).view({states.size(0), states.size(1)});
}

TrajectoryBatch SelectRows(const TrajectoryBatch& b, const std::vector<int64_t>& rows) {
  at::Tensor index = at::tensor(rows, at::kLong).to(b.ids.device());
  return {b.ids.index_select(0, index),
          b.attention.index_select(0, index),
          b.state_positions.index_select(0, index),
          b.last_positions.index_select(0, index),
          b.targets.index_select(0, index),
          b.mask.index_select(0, index)};
}

std::vector<std::vector<int64_t>> MiniBatches(const ActorTrainOptions& o, int64_t n, int64_t step) {
  std::vector<std::vector<int64_t>> out;
  for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    std::vector<int64_t> order(n);
    for (int64_t i = 0; i < n; ++i) order[i] = i;
    std::mt19937_64 rng(MixHash(MixHash(o.seed, step), epoch));
    for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng() % static_cast<uint64_t>(i + 1)]);
    for (int64_t begin = 0; begin < n; begin += o.mini_batch) {
      out.emplace_back(order.begin() + begin, order.begin() + std::min(n, begin + o.mini_batch));
    }
  }
  return out;
}

}  // namespace rto
