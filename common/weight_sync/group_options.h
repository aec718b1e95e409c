// Where and how a rank joins the weight broadcast group (torch-free, so control-plane code can
// carry it).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace rto {

struct WeightGroupOptions {
  std::string store_host = "127.0.0.1";  // the learner, which hosts the store
  int store_port = 0;
  int rank = 0;  // 0: the learner, which sends
  int world_size = 1;
  int64_t generation = 0;  // a new group per membership change
  // Prefixes the group's keys in the store: a per-run secret the coordinator hands out over the
  // authenticated control plane, so that a process reaching the store's port (which cannot do
  // TLS) without it cannot join the group. Never logged.
  std::string secret;
  std::chrono::milliseconds timeout{30000};
  int64_t bucket_bytes = 32ll << 20;  // per Gloo/NCCL bucket; also the shared-memory ring's size
  // CPU weights go through a shared-memory ring (shared_memory_ring.h) when every rank of the
  // generation reaches the learner's segment (one host, one /dev/shm); false: always Gloo.
  bool shared_memory = true;
  // The CUDA device of this rank's weights: -1 (weights on the CPU) forms a Gloo group, >= 0 an
  // NCCL group. Every rank of a generation must agree; each sets it from its own weights.
  int cuda_device = -1;
};

}  // namespace rto
