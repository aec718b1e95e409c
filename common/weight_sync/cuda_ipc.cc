#include "common/weight_sync/cuda_ipc.h"

#include <ATen/ATen.h>
#include <cuda_runtime_api.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace rto {
namespace {

absl::Status CudaError(cudaError_t e, const std::string& what) {
  if (e == cudaSuccess) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(what, ": ", cudaGetErrorString(e)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<CudaIpcBuffer>> CudaIpcBuffer::Create(int device, int64_t bytes) {
  if (bytes < 1) return absl::InvalidArgumentError("a CUDA IPC buffer needs at least one byte");
  if (auto s = CudaError(cudaSetDevice(device), absl::StrCat("cuda:", device)); !s.ok()) return s;
  void* pointer = nullptr;
  if (auto s = CudaError(cudaMalloc(&pointer, static_cast<size_t>(bytes)),
                         absl::StrCat("cannot allocate a ", bytes >> 20, " MB CUDA IPC buffer on cuda:", device));
      !s.ok()) {
    return s;
  }
  cudaIpcMemHandle_t h;
  if (auto s = CudaError(cudaIpcGetMemHandle(&h, pointer), "cudaIpcGetMemHandle"); !s.ok()) {
    cudaFree(pointer);
    return s;
  }
  return std::unique_ptr<CudaIpcBuffer>(
      new CudaIpcBuffer(device, pointer, bytes, true, std::string(reinterpret_cast<const char*>(&h), sizeof(h))));
}

absl::StatusOr<std::unique_ptr<CudaIpcBuffer>> CudaIpcBuffer::Open(int device, const std::string& handle,
                                                                   int64_t bytes) {
  cudaIpcMemHandle_t h;
  if (handle.size() != sizeof(h)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a CUDA IPC handle has ", sizeof(h), " bytes, this one ", handle.size()));
  }
  std::memcpy(&h, handle.data(), sizeof(h));
  if (auto s = CudaError(cudaSetDevice(device), absl::StrCat("cuda:", device)); !s.ok()) return s;
  void* pointer = nullptr;
  if (auto s = CudaError(cudaIpcOpenMemHandle(&pointer, h, cudaIpcMemLazyEnablePeerAccess),
                         "cannot open the learner's CUDA IPC buffer (another host?)");
      !s.ok()) {
    return s;
  }
  return std::unique_ptr<CudaIpcBuffer>(new CudaIpcBuffer(device, pointer, bytes, false, handle));
}

CudaIpcBuffer::~CudaIpcBuffer() {
  cudaSetDevice(device_);
  if (owner_) {
    cudaFree(pointer_);
  } else {
    cudaIpcCloseMemHandle(pointer_);
  }
}

at::Tensor CudaIpcBuffer::bytes() const {
  return at::from_blob(pointer_, {bytes_}, at::TensorOptions().dtype(at::kByte).device(at::kCUDA, device_));
}

absl::Status CudaIpcBuffer::Synchronize() const {
  if (auto s = CudaError(cudaSetDevice(device_), absl::StrCat("cuda:", device_)); !s.ok()) return s;
  return CudaError(cudaDeviceSynchronize(), "waiting for the weight copies");
}

}  // namespace rto
