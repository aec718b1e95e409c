#include "common/weight_sync/weight_sync.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <functional>

#include "absl/strings/str_cat.h"

namespace rto {
namespace {

using Clock = std::chrono::steady_clock;

// Header: version, tensor count, total bytes, layout hash (shapes and dtypes).
constexpr int64_t kHeaderSize = 4;

uint64_t Fnv(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

int64_t LayoutHash(const std::vector<at::Tensor>& tensors) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const at::Tensor& t : tensors) {
    const int64_t type = static_cast<int64_t>(t.scalar_type());
    h = Fnv(h, &type, sizeof(type));
    for (int64_t d : t.sizes()) h = Fnv(h, &d, sizeof(d));
  }
  return static_cast<int64_t>(h >> 1);
}

// A tensor's bytes as a flat uint8 tensor sharing its storage.
at::Tensor Bytes(const at::Tensor& t) {
  return at::from_blob(t.data_ptr(), {static_cast<int64_t>(t.numel() * t.element_size())},
                       at::TensorOptions().dtype(at::kByte).device(t.device()));
}

}  // namespace

struct WeightStoreServer::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

WeightStoreServer::WeightStoreServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WeightStoreServer::~WeightStoreServer() = default;
int WeightStoreServer::port() const { return impl_->store->getPort(); }

absl::StatusOr<std::unique_ptr<WeightStoreServer>> WeightStoreServer::Start(const std::string& host, int port,
                                                                            std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<uint16_t>(port);
  o.isServer = true;
  o.waitWorkers = false;
  o.timeout = timeout;
  try {
    auto impl = std::make_unique<Impl>();
    impl->store = c10::make_intrusive<c10d::TCPStore>(host, o);
    return std::unique_ptr<WeightStoreServer>(new WeightStoreServer(std::move(impl)));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot start the weight store on ", host, ":", port, ": ", e.what()));
  }
}

struct WeightGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;  // the server's, or a client
  // One broadcast from rank 0 through the group's backend (Gloo or NCCL), waited on for at most
  // the timeout; false when it did not complete in time.
  std::function<bool(std::vector<at::Tensor>&, const c10d::BroadcastOptions&, std::chrono::milliseconds)> broadcast;
};

WeightGroup::WeightGroup(const WeightGroupOptions& options, std::unique_ptr<Impl> impl)
    : options_(options), impl_(std::move(impl)) {}
WeightGroup::~WeightGroup() = default;

absl::StatusOr<std::unique_ptr<WeightGroup>> WeightGroup::Join(const WeightGroupOptions& o, WeightStoreServer* server) {
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", o.rank, " outside a group of ", o.world_size));
  }
  if ((o.rank == 0) != (server != nullptr)) {
    return absl::InvalidArgumentError("rank 0 (the learner) hosts the store; the other ranks connect to it");
  }
  if (o.bucket_bytes < 1) return absl::InvalidArgumentError("bucket_bytes must be >= 1");
  auto impl = std::make_unique<Impl>();
  try {
    c10::intrusive_ptr<c10d::Store> base;
    if (server != nullptr) {
      base = server->impl_->store;
    } else {
      c10d::TCPStoreOptions c;
      c.port = static_cast<uint16_t>(o.store_port);
      c.isServer = false;
      c.timeout = o.timeout;
      base = c10::make_intrusive<c10d::TCPStore>(o.store_host, c);
    }
    // The backend is part of the prefix: ranks that disagree about it time out naming the
    // generation instead of exchanging bytes through different transports.
    const bool nccl = o.cuda_device >= 0;
    impl->store = c10::make_intrusive<c10d::PrefixStore>(
        absl::StrCat("weights/", o.generation, nccl ? "/nccl/" : "/gloo/"), base);
    if (nccl) {
#ifdef USE_C10D_NCCL
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = o.timeout;
      auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, o.rank, o.world_size, options);
      impl->broadcast = [group](std::vector<at::Tensor>& t, const c10d::BroadcastOptions& b,
                                std::chrono::milliseconds timeout) { return group->broadcast(t, b)->wait(timeout); };
#else
      return absl::FailedPreconditionError(
          "the weights are on CUDA, which needs an NCCL group, and this build's LibTorch has no NCCL "
          "(build on a CUDA LibTorch; see the README)");
#endif
    } else {
      auto options = c10d::ProcessGroupGloo::Options::create(o.timeout);
      // Each rank binds Gloo to its own address: the store's host on the learner and on one
      // machine (loopback), this machine's default interface for workers elsewhere.
      const bool local = o.rank == 0 || o.store_host.rfind("127.", 0) == 0 || o.store_host == "localhost";
      options->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname(o.store_host)
                                       : c10d::ProcessGroupGloo::createDefaultDevice());
      auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, o.rank, o.world_size, options);
      impl->broadcast = [group](std::vector<at::Tensor>& t, const c10d::BroadcastOptions& b,
                                std::chrono::milliseconds timeout) { return group->broadcast(t, b)->wait(timeout); };
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", o.rank, " could not join weight group generation ",
                                               o.generation, " of ", o.world_size, " via ", o.store_host, ":",
                                               o.store_port, ": ", e.what()));
  }
  return std::unique_ptr<WeightGroup>(new WeightGroup(o, std::move(impl)));
}

absl::Status WeightGroup::BroadcastOne(at::Tensor& tensor) {
  std::vector<at::Tensor> one = {tensor};
  c10d::BroadcastOptions b;
  b.rootRank = 0;
  b.timeout = options_.timeout;
  try {
    if (!impl_->broadcast(one, b, options_.timeout)) {
      return absl::DeadlineExceededError(
          absl::StrCat("weight broadcast timed out after ", options_.timeout.count(), " ms"));
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("weight broadcast failed at rank ", options_.rank, " (generation ",
                                               options_.generation, "): ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<BroadcastStats> WeightGroup::Broadcast(const std::vector<at::Tensor>& tensors, int64_t version) {
  c10::NoGradGuard no_grad;
  const auto start = Clock::now();
  int64_t total = 0;
  for (const at::Tensor& t : tensors) {
    if (!t.is_contiguous()) return absl::InvalidArgumentError("weight broadcast needs contiguous tensors");
    total += t.numel() * t.element_size();
  }
  const bool root = options_.rank == 0;
  const at::Device device = tensors.empty() ? at::Device(at::kCPU) : tensors[0].device();
  // NCCL moves device memory only: the header goes where the weights are.
  at::Tensor header =
      at::tensor({version, static_cast<int64_t>(tensors.size()), total, LayoutHash(tensors)}, at::kLong).to(device);
  if (auto s = BroadcastOne(header); !s.ok()) return s;
  header = header.to(at::kCPU);
  const int64_t sent_version = header[0].item<int64_t>(), sent_total = header[2].item<int64_t>();
  const bool layout_matches = header[1].item<int64_t>() == static_cast<int64_t>(tensors.size()) &&
                              sent_total == total && header[3].item<int64_t>() == LayoutHash(tensors);

  // Stream the tensors' bytes through buckets; a receiver whose layout does not match still
  // takes every bucket (into scratch) so that the sender completes, then reports the mismatch.
  const int64_t bucket_size = std::min(options_.bucket_bytes, std::max<int64_t>(sent_total, 1));
  at::Tensor bucket = at::empty({bucket_size}, at::TensorOptions().dtype(at::kByte).device(device));
  size_t tensor_index = 0;
  int64_t tensor_offset = 0, buckets = 0;
  for (int64_t begin = 0; begin < sent_total; begin += bucket_size) {
    const int64_t n = std::min(bucket_size, sent_total - begin);
    at::Tensor chunk = bucket.narrow(0, 0, n);
    // Which slices of which tensors this bucket covers (the same walk on both sides).
    struct Slice {
      at::Tensor bytes;
      int64_t offset, length, at;
    };
    std::vector<Slice> slices;
    if (layout_matches) {
      for (int64_t filled = 0; filled < n;) {
        at::Tensor bytes = Bytes(tensors[tensor_index]);
        const int64_t take = std::min(n - filled, bytes.numel() - tensor_offset);
        slices.push_back({bytes, tensor_offset, take, filled});
        filled += take;
        tensor_offset += take;
        if (tensor_offset == bytes.numel()) {
          ++tensor_index;
          tensor_offset = 0;
        }
      }
    }
    if (root) {
      for (const Slice& s : slices) chunk.narrow(0, s.at, s.length).copy_(s.bytes.narrow(0, s.offset, s.length));
    }
    if (auto s = BroadcastOne(chunk); !s.ok()) return s;
    if (!root) {
      for (const Slice& s : slices) s.bytes.narrow(0, s.offset, s.length).copy_(chunk.narrow(0, s.at, s.length));
    }
    ++buckets;
  }
  if (!layout_matches) {
    return absl::FailedPreconditionError(
        absl::StrCat("rank ", options_.rank, ": the broadcast weights (", header[1].item<int64_t>(), " tensors, ",
                     sent_total, " bytes) do not match this model (", tensors.size(), " tensors, ", total, " bytes)"));
  }
  return BroadcastStats{sent_version, sent_total, buckets, std::chrono::duration<double>(Clock::now() - start).count()};
}

uint64_t HashTensors(const std::vector<at::Tensor>& tensors) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const at::Tensor& t : tensors) {
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    h = Fnv(h, c.data_ptr(), c.numel() * c.element_size());
  }
  return h;
}

}  // namespace rto
