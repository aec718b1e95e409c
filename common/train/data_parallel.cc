#include "common/train/data_parallel.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/util/share.h"
#include "common/util/status_macros.h"

namespace rto {

struct DataParallelGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> gloo;  // CPU tensors
  c10::intrusive_ptr<c10d::Backend> nccl;  // CUDA tensors; null for CPU models
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
#ifndef USE_C10D_NCCL
  if (o.cuda_device >= 0) {
    return absl::FailedPreconditionError(
        "a data-parallel group of CUDA models needs NCCL, and this build's LibTorch has no NCCL "
        "(build on a CUDA LibTorch; see the README)");
  }
#endif
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
    auto store = c10::make_intrusive<c10d::PrefixStore>(
        absl::StrCat("data_parallel/", o.secret.empty() ? "" : o.secret + "/", o.name, "/"), impl->store);
    auto gloo = c10d::ProcessGroupGloo::Options::create(o.timeout);
    // Rank 0 (and every rank on one machine) binds Gloo to the rendezvous address; a rank
    // elsewhere binds its own default interface.
    const bool local = o.rank == 0 || o.host.rfind("127.", 0) == 0 || o.host == "localhost";
    gloo->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname(o.host)
                                  : c10d::ProcessGroupGloo::createDefaultDevice());
    impl->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(c10::make_intrusive<c10d::PrefixStore>("gloo/", store),
                                                             o.rank, o.world_size, gloo);
#ifdef USE_C10D_NCCL
    if (o.cuda_device >= 0) {
      auto nccl = c10d::ProcessGroupNCCL::Options::create();
      nccl->timeout = o.timeout;
      impl->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(c10::make_intrusive<c10d::PrefixStore>("nccl/", store),
                                                               o.rank, o.world_size, nccl);
    }
#endif
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", o.rank, " could not join the data-parallel group of ",
                                               o.world_size, " via ", o.host, ":", o.port, ": ", e.what()));
  }
  return std::unique_ptr<DataParallelGroup>(new DataParallelGroup(o, std::move(impl)));
}

absl::Status DataParallelGroup::ForEachBucket(const std::vector<at::Tensor>& params, const std::vector<int>* owners,
                                              const std::function<at::Tensor(const at::Tensor&)>& of,
                                              const std::function<absl::Status(at::Tensor&, int owner)>& run) {
  c10::NoGradGuard no_grad;
  const auto owner = [&](size_t i) { return owners == nullptr ? 0 : (*owners)[i]; };
  size_t begin = 0;
  while (begin < params.size()) {
    // [begin, end): one bucket.
    size_t end = begin;
    int64_t bytes = 0;
    while (end < params.size() &&
           (end == begin || (bytes + params[end].nbytes() <= options_.bucket_bytes &&
                             params[end].scalar_type() == params[begin].scalar_type() && owner(end) == owner(begin)))) {
      bytes += static_cast<int64_t>(params[end].nbytes());
      ++end;
    }
    std::vector<at::Tensor> parts;
    for (size_t i = begin; i < end; ++i) parts.push_back(of(params[i]).reshape({-1}));
    at::Tensor flat = at::cat(parts);
    RTO_RETURN_IF_ERROR(run(flat, owner(begin)));
    int64_t offset = 0;
    for (size_t i = begin; i < end; ++i) {
      at::Tensor t = of(params[i]);
      t.copy_(flat.narrow(0, offset, t.numel()).view_as(t));
      offset += t.numel();
    }
    begin = end;
  }
  return absl::OkStatus();
}

absl::Status DataParallelGroup::AllReduceGradients(const std::vector<at::Tensor>& params) {
  if (options_.world_size == 1) return absl::OkStatus();
  for (const at::Tensor& p : params) {
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
  }
  return ForEachBucket(
      params, nullptr, [](const at::Tensor& p) { return p.grad(); },
      [&](at::Tensor& flat, int) {
        std::vector<at::Tensor> t = {flat};
        return Collective("the gradient sum", t, Op::kSum);
      });
}

absl::Status DataParallelGroup::BroadcastFromOwners(const std::vector<at::Tensor>& params,
                                                    const std::vector<int>& owners) {
  if (options_.world_size == 1) return absl::OkStatus();
  if (owners.size() != params.size()) return absl::InvalidArgumentError("one owner per parameter");
  return ForEachBucket(
      params, &owners, [](const at::Tensor& p) { return p; },
      [&](at::Tensor& flat, int owner) {
        std::vector<at::Tensor> t = {flat};
        return Collective("the broadcast of the updated weights", t, Op::kBroadcast, owner);
      });
}

absl::Status DataParallelGroup::Collective(const char* what, std::vector<at::Tensor>& tensors, Op op, int root) {
  const std::string where = absl::StrCat("data-parallel rank ", options_.rank, " of ", options_.world_size, ": ");
  c10d::Backend* backend = tensors[0].is_cuda() ? impl_->nccl.get() : impl_->gloo.get();
  if (backend == nullptr) return absl::InternalError(where + "CUDA tensors in a group without NCCL");
  try {
    c10::intrusive_ptr<c10d::Work> work;
    if (op == Op::kBroadcast) {
      c10d::BroadcastOptions b;
      b.rootRank = root;
      b.timeout = options_.timeout;
      work = backend->broadcast(tensors, b);
    } else {
      c10d::AllreduceOptions all;
      all.reduceOp = op == Op::kSum ? c10d::ReduceOp::SUM : c10d::ReduceOp::MAX;
      all.timeout = options_.timeout;
      work = backend->allreduce(tensors, all);
    }
    if (!work->wait(options_.timeout)) return absl::DeadlineExceededError(where + what + " timed out");
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(where, what, " failed: ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<double>> DataParallelGroup::Reduce(const char* what, const std::vector<double>& values,
                                                              Op op) {
  if (options_.world_size == 1 || values.empty()) return values;
  std::vector<at::Tensor> t = {at::tensor(values, at::kDouble)};
  RTO_RETURN_IF_ERROR(Collective(what, t, op));
  return std::vector<double>(t[0].data_ptr<double>(), t[0].data_ptr<double>() + t[0].numel());
}

std::vector<int> OptimizerOwners(const std::vector<at::Tensor>& params, int world_size) {
  int64_t total = 0;
  for (const at::Tensor& p : params) total += p.numel();
  std::vector<int> owners;
  int64_t before = 0;  // elements of the parameters before this one
  for (const at::Tensor& p : params) {
    // The rank whose equal part of [0, total) holds this parameter's middle element.
    const int64_t middle = before + p.numel() / 2;
    owners.push_back(
        static_cast<int>(std::min<int64_t>(world_size - 1, middle * world_size / std::max<int64_t>(total, 1))));
    before += p.numel();
  }
  return owners;
}

std::vector<int64_t> RankShare(const std::vector<int64_t>& rows, int rank, int world_size) {
  auto [begin, end] = Share(rows.size(), static_cast<size_t>(world_size), static_cast<size_t>(rank));
  return {rows.begin() + begin, rows.begin() + end};
}

}  // namespace rto
