#include "common/weight_sync/weight_sync.h"
#include "common/util/time.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include "common/weight_sync/cuda_ipc.h"
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/util/status_macros.h"
#include "common/weight_sync/shared_memory_ring.h"

namespace rto {
namespace {

using Clock = std::chrono::steady_clock;

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

struct WeightGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;      // the generation's prefix of the server's store
  c10::intrusive_ptr<c10d::Backend> control;  // Gloo: agreements, headers; the bytes of CPU weights
  c10::intrusive_ptr<c10d::Backend> data;     // the bytes: NCCL for CUDA weights, else `control`
  std::unique_ptr<SharedMemoryRing> ring;     // CPU weights, every rank sharing the learner's /dev/shm
#ifdef USE_C10D_NCCL
  std::unique_ptr<CudaIpcBuffer> ipc;  // CUDA weights, every rank on the learner's host
  bool ipc_agreed = false;             // decided at the first broadcast, when the size is known
#endif
};

WeightGroup::WeightGroup(const WeightGroupOptions& options, std::unique_ptr<Impl> impl)
    : options_(options), impl_(std::move(impl)) {}
WeightGroup::~WeightGroup() = default;

absl::StatusOr<std::unique_ptr<WeightGroup>> WeightGroup::Join(const WeightGroupOptions& o, Rendezvous* server) {
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", o.rank, " outside a group of ", o.world_size));
  }
  if ((o.rank == 0) != (server != nullptr)) {
    return absl::InvalidArgumentError("rank 0 (the learner) hosts the store; the other ranks connect to it");
  }
  if (o.bucket_bytes < 1) return absl::InvalidArgumentError("bucket_bytes must be >= 1");
  auto impl = std::make_unique<Impl>();
  const bool cuda = o.cuda_device >= 0;
#ifndef USE_C10D_NCCL
  if (cuda) {
    return absl::FailedPreconditionError(
        "the weights are on CUDA, which needs an NCCL group, and this build's LibTorch has no NCCL "
        "(build on a CUDA LibTorch; see the README)");
  }
#endif
  try {
    c10::intrusive_ptr<c10d::Store> base;
    if (server != nullptr) {
      base = server->store();
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
        absl::StrCat("weights/", o.secret.empty() ? "" : o.secret + "/", o.generation, cuda ? "/nccl/" : "/gloo/"),
        base);
    auto gloo = c10d::ProcessGroupGloo::Options::create(o.timeout);
    // Each rank binds Gloo to its own address: the store's host on the learner and on one
    // machine (loopback), this machine's default interface for workers elsewhere.
    const bool local = o.rank == 0 || o.store_host.rfind("127.", 0) == 0 || o.store_host == "localhost";
    gloo->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname(o.store_host)
                                  : c10d::ProcessGroupGloo::createDefaultDevice());
    c10::intrusive_ptr<c10d::Store> control_store = impl->store;
    if (cuda) control_store = c10::make_intrusive<c10d::PrefixStore>("control/", impl->store);
    impl->control = c10::make_intrusive<c10d::ProcessGroupGloo>(control_store, o.rank, o.world_size, gloo);
    impl->data = impl->control;
#ifdef USE_C10D_NCCL
    if (cuda) {
      // NCCL makes its communicator at the first collective, so a group that goes through CUDA
      // IPC instead never asks NCCL for two ranks on one device.
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = o.timeout;
      impl->data = c10::make_intrusive<c10d::ProcessGroupNCCL>(
          c10::make_intrusive<c10d::PrefixStore>("data/", impl->store), o.rank, o.world_size, options);
    }
#endif
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", o.rank, " could not join weight group generation ",
                                               o.generation, " of ", o.world_size, " via ", o.store_host, ":",
                                               o.store_port, ": ", e.what()));
  }
  auto group = std::unique_ptr<WeightGroup>(new WeightGroup(o, std::move(impl)));
  group->transport_ = cuda ? "nccl" : "gloo";
  if (!cuda && o.world_size > 1) RTO_RETURN_IF_ERROR(group->AgreeOnSharedMemory());
  return group;
}

absl::StatusOr<bool> WeightGroup::EveryRank(bool mine) {
  std::vector<at::Tensor> flag = {at::tensor({mine ? int64_t{1} : int64_t{0}}, at::kLong)};
  c10d::AllreduceOptions all;
  all.reduceOp = c10d::ReduceOp::MIN;
  all.timeout = options_.timeout;
  try {
    if (!impl_->control->allreduce(flag, all)->wait(options_.timeout)) {
      return absl::DeadlineExceededError(absl::StrCat("rank ", options_.rank, " of weight group generation ",
                                                      options_.generation, ": the other ranks did not answer within ",
                                                      options_.timeout.count(), " ms"));
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("rank ", options_.rank, " of weight group generation ", options_.generation, ": ", e.what()));
  }
  return flag[0].item<int64_t>() == 1;
}

// Rank 0 names what it made under `key` (an empty value: nothing); the others read it.
std::string WeightGroup::Offer(const std::string& key, const std::string& value) {
  if (options_.rank == 0) {
    impl_->store->set(key, std::vector<uint8_t>(value.begin(), value.end()));
    return value;
  }
  const std::vector<uint8_t> bytes = impl_->store->get(key);
  return std::string(bytes.begin(), bytes.end());
}

absl::Status WeightGroup::AgreeOnSharedMemory() {
  // Rank 0 makes the ring and names it in the store; every other rank tries to open it. One
  // that cannot (another host, another container's /dev/shm) or that was told not to
  // (shared_memory false) makes the whole group use Gloo.
  std::string offered;
  try {
    if (!options_.shared_memory) {
      why_not_same_host_ = "shared memory is turned off";
      Offer("shared_memory_ring", "");
    } else if (options_.rank == 0) {
      // bucket_bytes of ring in 8 slots: the writer fills one while the readers drain another.
      const int32_t slots = 8;
      absl::StatusOr<std::unique_ptr<SharedMemoryRing>> ring =
          SharedMemoryRing::Create({.slot_bytes = std::max<int64_t>(options_.bucket_bytes / slots, 1),
                                    .slots = slots,
                                    .readers = options_.world_size - 1});
      if (ring.ok()) {
        impl_->ring = std::move(*ring);
      } else {
        why_not_same_host_ = std::string(ring.status().message());
      }
      Offer("shared_memory_ring", impl_->ring ? absl::StrCat(impl_->ring->name(), " ", impl_->ring->nonce()) : "");
    } else {
      const std::string value = Offer("shared_memory_ring", "");
      const size_t space = value.find(' ');
      if (space == std::string::npos) {
        why_not_same_host_ = "the learner could not make a shared-memory ring";
      } else {
        absl::StatusOr<std::unique_ptr<SharedMemoryRing>> ring =
            SharedMemoryRing::Open(value.substr(0, space), std::stoull(value.substr(space + 1)), options_.rank - 1);
        if (ring.ok()) {
          impl_->ring = std::move(*ring);
        } else {
          why_not_same_host_ = std::string(ring.status().message());
        }
      }
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", options_.rank, " of weight group generation ",
                                               options_.generation, ": shared-memory agreement failed: ", e.what()));
  }
  RTO_ASSIGN_OR_RETURN(const bool everyone, EveryRank(impl_->ring != nullptr));
  if (impl_->ring && options_.rank == 0) impl_->ring->Unlink();  // every rank that could open it has
  if (!everyone) {
    impl_->ring.reset();
    if (why_not_same_host_.empty()) why_not_same_host_ = "another rank cannot reach the learner's ring";
  }
  if (impl_->ring) transport_ = "shm";
  return absl::OkStatus();
}

absl::Status WeightGroup::BroadcastOne(at::Tensor& tensor, c10d::Backend& backend) {
  std::vector<at::Tensor> one = {tensor};
  c10d::BroadcastOptions b;
  b.rootRank = 0;
  b.timeout = options_.timeout;
  try {
    if (!backend.broadcast(one, b)->wait(options_.timeout)) {
      return absl::DeadlineExceededError(
          absl::StrCat("weight broadcast timed out after ", options_.timeout.count(), " ms"));
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("weight broadcast failed at rank ", options_.rank, " (generation ",
                                               options_.generation, "): ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<WeightGroup::Header> WeightGroup::ExchangeHeader(const std::vector<at::Tensor>& tensors, int64_t version,
                                                                int64_t total, c10d::Backend& backend,
                                                                at::Device device) {
  at::Tensor header =
      at::tensor({version, static_cast<int64_t>(tensors.size()), total, LayoutHash(tensors)}, at::kLong).to(device);
  RTO_RETURN_IF_ERROR(BroadcastOne(header, backend));
  header = header.to(at::kCPU);
  Header h{
      .version = header[0].item<int64_t>(), .count = header[1].item<int64_t>(), .total = header[2].item<int64_t>()};
  h.layout_matches = h.count == static_cast<int64_t>(tensors.size()) && h.total == total &&
                     header[3].item<int64_t>() == LayoutHash(tensors);
  return h;
}

absl::Status WeightGroup::LayoutError(const Header& h, const std::vector<at::Tensor>& tensors, int64_t total) const {
  return absl::FailedPreconditionError(absl::StrCat("rank ", options_.rank, ": the broadcast weights (", h.count,
                                                    " tensors, ", h.total, " bytes) do not match this model (",
                                                    tensors.size(), " tensors, ", total, " bytes)"));
}

absl::StatusOr<BroadcastStats> WeightGroup::Broadcast(const std::vector<at::Tensor>& tensors, int64_t version) {
  c10::NoGradGuard no_grad;
  const auto start = Clock::now();
  int64_t total = 0;
  for (const at::Tensor& t : tensors) {
    if (!t.is_contiguous()) return absl::InvalidArgumentError("weight broadcast needs contiguous tensors");
    if (t.is_cuda() != (options_.cuda_device >= 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("this weight group moves ", options_.cuda_device >= 0 ? "CUDA" : "CPU", " tensors"));
    }
    total += t.numel() * t.element_size();
  }
#ifdef USE_C10D_NCCL
  if (options_.cuda_device >= 0 && !impl_->ipc_agreed) RTO_RETURN_IF_ERROR(AgreeOnCudaIpc(total));
  if (impl_->ipc) return BroadcastThroughCudaIpc(tensors, version, total, start);
#endif
  const bool root = options_.rank == 0;
  const at::Device device = tensors.empty() ? at::Device(at::kCPU) : tensors[0].device();
  // NCCL moves device memory only: the header goes where the weights are.
  RTO_ASSIGN_OR_RETURN(const Header header, ExchangeHeader(tensors, version, total, *impl_->data, device));

  // Both sides walk the tensors' bytes in the same order; a receiver whose layout does not match
  // still takes every byte (and drops it) so that the sender completes, then reports the mismatch.
  ByteCursor cursor(tensors);
  int64_t buckets = 0;
  if (impl_->ring) {
    const auto deadline = start + options_.timeout;
    absl::Status streamed;
    if (root) {
      streamed = impl_->ring->Write(
          header.total,
          [&](uint8_t* slot, int64_t, int64_t n) {
            cursor.Next(n, [&](const at::Tensor& t, int64_t offset, int64_t pos, int64_t length) {
              std::memcpy(slot + pos, static_cast<const uint8_t*>(t.data_ptr()) + offset, length);
            });
            ++buckets;
          },
          deadline);
    } else {
      streamed = impl_->ring->Read(
          header.total,
          [&](const uint8_t* slot, int64_t, int64_t n) {
            if (header.layout_matches) {
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
    const int64_t bucket_size = std::min(options_.bucket_bytes, std::max<int64_t>(header.total, 1));
    at::Tensor bucket = at::empty({bucket_size}, at::TensorOptions().dtype(at::kByte).device(device));
    for (int64_t begin = 0; begin < header.total; begin += bucket_size) {
      at::Tensor chunk = bucket.narrow(0, 0, std::min(bucket_size, header.total - begin));
      if (root) {
        cursor.Next(chunk.numel(), [&](const at::Tensor& t, int64_t offset, int64_t pos, int64_t length) {
          chunk.narrow(0, pos, length).copy_(Bytes(t).narrow(0, offset, length));
        });
      }
      RTO_RETURN_IF_ERROR(BroadcastOne(chunk, *impl_->data));
      if (!root && header.layout_matches) {
        cursor.Next(chunk.numel(), [&](const at::Tensor& t, int64_t offset, int64_t pos, int64_t length) {
          Bytes(t).narrow(0, offset, length).copy_(chunk.narrow(0, pos, length));
        });
      }
      ++buckets;
    }
  }
  if (!header.layout_matches) return LayoutError(header, tensors, total);
  return BroadcastStats{header.version, header.total, buckets, SecondsSince(start), transport_};
}

#ifdef USE_C10D_NCCL
absl::Status WeightGroup::AgreeOnCudaIpc(int64_t total) {
  // As for shared memory: rank 0 offers a buffer of its weights' size, every rank must open it.
  impl_->ipc_agreed = true;
  if (options_.world_size < 2) return absl::OkStatus();
  std::string why;
  try {
    if (options_.rank == 0) {
      absl::StatusOr<std::unique_ptr<CudaIpcBuffer>> ipc = CudaIpcBuffer::Create(options_.cuda_device, total);
      if (ipc.ok()) {
        impl_->ipc = std::move(*ipc);
      } else {
        why = std::string(ipc.status().message());
      }
      Offer("cuda_ipc", impl_->ipc ? absl::StrCat(total, " ", impl_->ipc->handle()) : "");
    } else {
      const std::string value = Offer("cuda_ipc", "");
      const size_t space = value.find(' ');
      int64_t size = 0;
      if (space == std::string::npos || !absl::SimpleAtoi(value.substr(0, space), &size)) {
        why = "the learner could not make a CUDA IPC buffer";
      } else {
        absl::StatusOr<std::unique_ptr<CudaIpcBuffer>> ipc =
            CudaIpcBuffer::Open(options_.cuda_device, value.substr(space + 1), size);
        if (ipc.ok()) {
          impl_->ipc = std::move(*ipc);
        } else {
          why = std::string(ipc.status().message());
        }
      }
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", options_.rank, " of weight group generation ",
                                               options_.generation, ": CUDA IPC agreement failed: ", e.what()));
  }
  RTO_ASSIGN_OR_RETURN(const bool everyone, EveryRank(impl_->ipc != nullptr));
  if (!everyone) {
    impl_->ipc.reset();
    why_not_same_host_ = why.empty() ? "another rank cannot open the learner's CUDA IPC buffer" : why;
    return absl::OkStatus();
  }
  transport_ = "cuda_ipc";
  return absl::OkStatus();
}

absl::StatusOr<BroadcastStats> WeightGroup::BroadcastThroughCudaIpc(const std::vector<at::Tensor>& tensors,
                                                                    int64_t version, int64_t total,
                                                                    Clock::time_point start) {
  // The learner fills the buffer and waits for its copies, then the header (over Gloo) tells the
  // workers to copy out; a last all-reduce holds the learner until every worker has its copy,
  // so the next broadcast cannot overwrite bytes still being read.
  const bool root = options_.rank == 0;
  at::Tensor buffer = impl_->ipc->bytes();
  if (root) {
    if (total != buffer.numel()) {
      return absl::FailedPreconditionError(absl::StrCat("the weights changed size (", total, " bytes) since the CUDA ",
                                                        "IPC buffer was made (", buffer.numel(),
                                                        "): form a new group"));
    }
    ByteCursor(tensors).Next(total, [&](const at::Tensor& t, int64_t offset, int64_t pos, int64_t length) {
      buffer.narrow(0, pos, length).copy_(Bytes(t).narrow(0, offset, length));
    });
    RTO_RETURN_IF_ERROR(impl_->ipc->Synchronize());
  }
  RTO_ASSIGN_OR_RETURN(const Header header, ExchangeHeader(tensors, version, total, *impl_->control, at::kCPU));
  const bool copy = !root && header.layout_matches && header.total == buffer.numel();
  if (copy) {
    ByteCursor(tensors).Next(total, [&](const at::Tensor& t, int64_t offset, int64_t pos, int64_t length) {
      Bytes(t).narrow(0, offset, length).copy_(buffer.narrow(0, pos, length));
    });
    RTO_RETURN_IF_ERROR(impl_->ipc->Synchronize());
  }
  RTO_ASSIGN_OR_RETURN(const bool done, EveryRank(true));
  (void)done;
  if (!header.layout_matches) return LayoutError(header, tensors, total);
  return BroadcastStats{header.version, header.total, 1, SecondsSince(start), transport_};
}
#endif

uint64_t HashTensors(const std::vector<at::Tensor>& tensors) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const at::Tensor& t : tensors) {
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    h = Fnv(h, c.data_ptr(), c.numel() * c.element_size());
  }
  return h;
}

}  // namespace rto
