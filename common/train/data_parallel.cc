#include "common/train/data_parallel.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/util/status_macros.h"

namespace rto {

struct DataParallelGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

DataParallelGroup::DataParallelGroup(DataParallelOptions options, std::unique_ptr<Impl> impl)
    : options_(std::move(options)), impl_(std::move(impl)) {}

DataParallelGroup::~DataParallelGroup() = default;

absl::StatusOr<std::unique_ptr<DataParallelGroup>> DataParallelGroup::Join(const DataParallelOptions& o,
                                                                           Rendezvous* rendezvous) {
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("rank ", o.rank, " outside a data-parallel group of ", o.world_size));
  }
  if ((o.rank == 0) != (rendezvous != nullptr)) {
    return absl::InvalidArgumentError("rank 0 hosts the data-parallel rendezvous; the other ranks connect to it");
  }
  if (o.bucket_bytes < 1) return absl::InvalidArgumentError("bucket_bytes must be >= 1");
  auto impl = std::make_unique<Impl>();
  try {
    if (rendezvous != nullptr) {
      impl->store = rendezvous->store();
    } else {
      c10d::TCPStoreOptions s;
      s.port = static_cast<uint16_t>(o.port);
      s.isServer = false;
      s.timeout = o.timeout;
      impl->store = c10::make_intrusive<c10d::TCPStore>(o.host, s);
    }
    auto gloo = c10d::ProcessGroupGloo::Options::create(o.timeout);
    gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(o.host));
    impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
        c10::make_intrusive<c10d::PrefixStore>("data_parallel/", impl->store), o.rank, o.world_size, gloo);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", o.rank, " could not join the data-parallel group of ",
                                               o.world_size, " via ", o.host, ":", o.port, ": ", e.what()));
  }
  return std::unique_ptr<DataParallelGroup>(new DataParallelGroup(o, std::move(impl)));
}

absl::Status DataParallelGroup::AllReduceGradients(const std::vector<at::Tensor>& params) {
  if (options_.world_size == 1) return absl::OkStatus();
  c10::NoGradGuard no_grad;
  // Buckets of consecutive parameters of one dtype, each flattened into one tensor.
  std::vector<std::vector<size_t>> buckets;
  int64_t bytes = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const int64_t size = params[i].numel() * static_cast<int64_t>(params[i].element_size());
    if (buckets.empty() || bytes + size > options_.bucket_bytes ||
        params[buckets.back().front()].scalar_type() != params[i].scalar_type()) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(i);
    bytes += size;
  }
  for (const std::vector<size_t>& bucket : buckets) {
    std::vector<at::Tensor> grads;
    for (size_t i : bucket) {
      const at::Tensor& p = params[i];
      if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
      grads.push_back(p.grad().reshape({-1}));
    }
    std::vector<at::Tensor> flat = {at::cat(grads)};
    RTO_RETURN_IF_ERROR(Collective("the gradient sum", flat, /*broadcast=*/false));
    int64_t offset = 0;
    for (size_t i : bucket) {
      const at::Tensor& g = params[i].grad();
      g.copy_(flat[0].narrow(0, offset, g.numel()).view_as(g));
      offset += g.numel();
    }
  }
  return absl::OkStatus();
}

absl::Status DataParallelGroup::Collective(const char* what, std::vector<at::Tensor>& tensors, bool broadcast) {
  const std::string where = absl::StrCat("data-parallel rank ", options_.rank, " of ", options_.world_size, ": ");
  try {
    c10::intrusive_ptr<c10d::Work> work;
    if (broadcast) {
      c10d::BroadcastOptions b;
      b.rootRank = 0;
      b.timeout = options_.timeout;
      work = impl_->group->broadcast(tensors, b);
    } else {
      c10d::AllreduceOptions sum;
      sum.reduceOp = c10d::ReduceOp::SUM;
      sum.timeout = options_.timeout;
      work = impl_->group->allreduce(tensors, sum);
    }
    if (!work->wait(options_.timeout)) return absl::DeadlineExceededError(where + what + " timed out");
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(where, what, " failed: ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DataParallelGroup::BroadcastBytes(const std::string& bytes) {
  if (options_.world_size == 1) return bytes;
  std::vector<at::Tensor> size = {at::tensor({static_cast<int64_t>(bytes.size())}, at::kLong)};
  RTO_RETURN_IF_ERROR(Collective("the broadcast's size", size, /*broadcast=*/true));
  const int64_t n = size[0].item<int64_t>();
  std::vector<at::Tensor> data = {at::empty({n}, at::kByte)};
  if (options_.rank == 0 && n > 0) std::memcpy(data[0].data_ptr(), bytes.data(), n);
  RTO_RETURN_IF_ERROR(Collective("the broadcast", data, /*broadcast=*/true));
  return std::string(static_cast<const char*>(data[0].data_ptr()), n);
}

absl::StatusOr<std::vector<double>> DataParallelGroup::SumOverRanks(const std::vector<double>& values) {
  if (options_.world_size == 1 || values.empty()) return values;
  std::vector<at::Tensor> t = {at::tensor(values, at::kDouble)};
  RTO_RETURN_IF_ERROR(Collective("the sum", t, /*broadcast=*/false));
  return std::vector<double>(t[0].data_ptr<double>(), t[0].data_ptr<double>() + t[0].numel());
}

std::vector<int64_t> RankShare(const std::vector<int64_t>& rows, int rank, int world_size) {
  const size_t n = rows.size(), w = static_cast<size_t>(world_size), r = static_cast<size_t>(rank);
  const size_t begin = r * (n / w) + std::min(r, n % w);
  const size_t end = begin + n / w + (r < n % w ? 1 : 0);
  return {rows.begin() + begin, rows.begin() + end};
}

}  // namespace rto
