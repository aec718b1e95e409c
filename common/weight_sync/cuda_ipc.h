// A device buffer that the other processes on the same host open through CUDA IPC: the weight
// broadcast's transport when the learner and the rollout workers share a host and their weights
// are on CUDA. NCCL refuses two ranks on one device, so for a learner and a worker sharing one
// GPU this is the only device-to-device path; between GPUs of one host it skips NCCL's setup.
//
// The learner copies its parameters into the buffer (device to device), the workers copy them
// out; the weight group orders the two with its Gloo control group (weight_sync.cc). Only in
// builds on a CUDA LibTorch (USE_C10D_NCCL). Not thread-safe.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace rto {

class CudaIpcBuffer {
 public:
  // The learner: `bytes` of device memory on `device` (cudaMalloc: IPC needs a whole allocation).
  static absl::StatusOr<std::unique_ptr<CudaIpcBuffer>> Create(int device, int64_t bytes);
  // A worker: the learner's buffer, from its handle(), mapped for use on `device`.
  static absl::StatusOr<std::unique_ptr<CudaIpcBuffer>> Open(int device, const std::string& handle, int64_t bytes);
  ~CudaIpcBuffer();

  // The cudaIpcMemHandle_t, as bytes, for Open in another process.
  const std::string& handle() const { return handle_; }
  // uint8 [bytes] over the buffer, on `device`.
  at::Tensor bytes() const;
  // Waits for every copy issued on this device so far.
  absl::Status Synchronize() const;

 private:
  CudaIpcBuffer(int device, void* pointer, int64_t bytes, bool owner, std::string handle)
      : device_(device), pointer_(pointer), bytes_(bytes), owner_(owner), handle_(std::move(handle)) {}
  int device_;
  void* pointer_;
  int64_t bytes_;
  bool owner_;  // cudaFree on destruction; otherwise cudaIpcCloseMemHandle
  std::string handle_;
};

}  // namespace rto
