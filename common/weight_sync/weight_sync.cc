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
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/util/status_macros.h"
#include "common/weight_sync/shared_memory_ring.h"

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

// Walks the concatenated bytes of a list of tensors in order, a span at a time.
class ByteCursor {
 public:
  explicit ByteCursor(const std::vector<at::Tensor>& tensors) : tensors_(tensors) {}
  // Calls fn(tensor, offset in its bytes, offset in the span, length) for the next n bytes.
  template <typename Fn>
  void Next(int64_t n, Fn fn) {
    for (int64_t filled = 0; filled < n && index_ < tensors_.size();) {
      const at::Tensor& t = tensors_[index_];
      const int64_t size = t.numel() * t.element_size();
      const int64_t take = std::min(n - filled, size - offset_);
      if (take > 0) fn(t, offset_, filled, take);
      filled += take;
      offset_ += take;
      if (offset_ == size) {
        ++index_;
        offset_ = 0;
      }
    }
  }

 private:
  const std::vector<at::Tensor>& tensors_;
  size_t index_ = 0;
  int64_t offset_ = 0;
};

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
  c10::intrusive_ptr<c10d::Store> store;      // the generation's prefix of the server's store
  c10::intrusive_ptr<c10d::Backend> backend;  // Gloo or NCCL
  std::unique_ptr<SharedMemoryRing> ring;     // when every rank shares the learner's /dev/shm
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
  const bool nccl = o.cuda_device >= 0;
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
    impl->store = c10::make_intrusive<c10d::PrefixStore>(
        absl::StrCat("weights/", o.generation, nccl ? "/nccl/" : "/gloo/"), base);
    if (nccl) {
#ifdef USE_C10D_NCCL
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = o.timeout;
      impl->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, o.rank, o.world_size, options);
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
      impl->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, o.rank, o.world_size, options);
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", o.rank, " could not join weight group generation ",
                                               o.generation, " of ", o.world_size, " via ", o.store_host, ":",
                                               o.store_port, ": ", e.what()));
  }
  auto group = std::unique_ptr<WeightGroup>(new WeightGroup(o, std::move(impl)));
  group->transport_ = nccl ? "nccl" : "gloo";
  if (!nccl && o.world_size > 1) RTO_RETURN_IF_ERROR(group->AgreeOnSharedMemory());
  return group;
}

absl::Status WeightGroup::AgreeOnSharedMemory() {
  // Rank 0 makes the ring and names it in the store; every other rank tries to open it. One
  // that cannot (another host, another container's /dev/shm) or that was told not to
  // (shared_memory false) makes the whole group use Gloo.
  constexpr char kKey[] = "shared_memory_ring";
  try {
    if (!options_.shared_memory) {
      why_not_shared_memory_ = "shared memory is turned off";
      if (options_.rank == 0) impl_->store->set(kKey, std::vector<uint8_t>());
    } else if (options_.rank == 0) {
      // bucket_bytes of ring in 8 slots: the writer fills one while the readers drain another.
      const int32_t slots = 8;
      absl::StatusOr<std::unique_ptr<SharedMemoryRing>> ring =
          SharedMemoryRing::Create({.slot_bytes = std::max<int64_t>(options_.bucket_bytes / slots, 1),
                                    .slots = slots,
                                    .readers = options_.world_size - 1});
      std::string value;
      if (ring.ok()) {
        impl_->ring = std::move(*ring);
        value = absl::StrCat(impl_->ring->name(), " ", impl_->ring->nonce());
      } else {
        why_not_shared_memory_ = std::string(ring.status().message());
      }
      impl_->store->set(kKey, std::vector<uint8_t>(value.begin(), value.end()));
    } else {
      const std::vector<uint8_t> bytes = impl_->store->get(kKey);
      const std::string value(bytes.begin(), bytes.end());
      const size_t space = value.find(' ');
      if (space == std::string::npos) {
        why_not_shared_memory_ = "the learner could not make a shared-memory ring";
      } else {
        absl::StatusOr<std::unique_ptr<SharedMemoryRing>> ring =
            SharedMemoryRing::Open(value.substr(0, space), std::stoull(value.substr(space + 1)), options_.rank - 1);
        if (ring.ok()) {
          impl_->ring = std::move(*ring);
        } else {
          why_not_shared_memory_ = std::string(ring.status().message());
        }
      }
    }
    std::vector<at::Tensor> opened = {at::tensor({impl_->ring ? int64_t{1} : int64_t{0}}, at::kLong)};
    c10d::AllreduceOptions all;
    all.reduceOp = c10d::ReduceOp::MIN;
    all.timeout = options_.timeout;
    if (!impl_->backend->allreduce(opened, all)->wait(options_.timeout)) {
      return absl::DeadlineExceededError("the weight group's shared-memory agreement timed out");
    }
    if (impl_->ring && options_.rank == 0) impl_->ring->Unlink();  // every rank that could open it has
    if (opened[0].item<int64_t>() == 0) {
      impl_->ring.reset();
      if (why_not_shared_memory_.empty()) why_not_shared_memory_ = "another rank cannot reach the learner's ring";
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", options_.rank, " of weight group generation ",
                                               options_.generation, ": shared-memory agreement failed: ", e.what()));
  }
  if (impl_->ring) transport_ = "shm";
  return absl::OkStatus();
}

absl::Status WeightGroup::BroadcastOne(at::Tensor& tensor) {
  std::vector<at::Tensor> one = {tensor};
  c10d::BroadcastOptions b;
  b.rootRank = 0;
  b.timeout = options_.timeout;
  try {
    if (!impl_->backend->broadcast(one, b)->wait(options_.timeout)) {
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
    if (impl_->ring && !t.is_cpu()) return absl::InvalidArgumentError("a shared-memory weight group moves CPU tensors");
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

  // Both sides walk the tensors' bytes in the same order; a receiver whose layout does not match
  // still takes every byte (and drops it) so that the sender completes, then reports the mismatch.
  ByteCursor cursor(tensors);
  int64_t buckets = 0;
  if (impl_->ring) {
    const auto deadline = start + options_.timeout;
    absl::Status streamed;
    if (root) {
      streamed = impl_->ring->Write(
          sent_total,
          [&](uint8_t* slot, int64_t, int64_t n) {
            cursor.Next(n, [&](const at::Tensor& t, int64_t offset, int64_t pos, int64_t length) {
              std::memcpy(slot + pos, static_cast<const uint8_t*>(t.data_ptr()) + offset, length);
            });
            ++buckets;
          },
          deadline);
    } else {
      streamed = impl_->ring->Read(
          sent_total,
          [&](const uint8_t* slot, int64_t, int64_t n) {
            if (layout_matches) {
              cursor.Next(n, [&](const at::Tensor& t, int64_t offset, int64_t pos, int64_t length) {
                std::memcpy(static_cast<uint8_t*>(t.data_ptr()) + offset, slot + pos, length);
              });
            }
            ++buckets;
          },
          deadline);
    }
    if (!streamed.ok()) {
      return absl::Status(streamed.code(), absl::StrCat("rank ", options_.rank, " (generation ", options_.generation,
                                                        "): ", streamed.message()));
    }
  } else {
    const int64_t bucket_size = std::min(options_.bucket_bytes, std::max<int64_t>(sent_total, 1));
    at::Tensor bucket = at::empty({bucket_size}, at::TensorOptions().dtype(at::kByte).device(device));
    for (int64_t begin = 0; begin < sent_total; begin += bucket_size) {
      at::Tensor chunk = bucket.narrow(0, 0, std::min(bucket_size, sent_total - begin));
      if (root) {
        cursor.Next(chunk.numel(), [&](const at::Tensor& t, int64_t offset, int64_t pos, int64_t length) {
          chunk.narrow(0, pos, length).copy_(Bytes(t).narrow(0, offset, length));
        });
      }
      if (auto s = BroadcastOne(chunk); !s.ok()) return s;
      if (!root && layout_matches) {
        cursor.Next(chunk.numel(), [&](const at::Tensor& t, int64_t offset, int64_t pos, int64_t length) {
          Bytes(t).narrow(0, offset, length).copy_(chunk.narrow(0, pos, length));
        });
      }
      ++buckets;
    }
  }
  if (!layout_matches) {
    return absl::FailedPreconditionError(
        absl::StrCat("rank ", options_.rank, ": the broadcast weights (", header[1].item<int64_t>(), " tensors, ",
                     sent_total, " bytes) do not match this model (", tensors.size(), " tensors, ", total, " bytes)"));
  }
  return BroadcastStats{sent_version, sent_total, buckets, std::chrono::duration<double>(Clock::now() - start).count(),
                        transport_};
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
