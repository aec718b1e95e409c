// Compute efficiency of the learner: one forward and backward pass of the policy loss (token
// log-probs of a batch, as PPO, DPO and SFT compute them) on a randomly initialised model of
// Qwen2.5-0.5B's shape (hidden 896, 24 layers, 14 / 2 heads, intermediate 4864, vocab 151936,
// tied embeddings, q/k/v biases), in float32 on the CPU. Its achieved GFLOP/s are compared with
// the matmul peak this benchmark measures on the same machine, in the same run: float32 matrix
// products into preallocated outputs at the shapes the model multiplies, the best of them.
//
// FLOPs counted: those of the matrix products (bench/learner_shape.h).
//
// With activation checkpointing on (the fourth argument 1), every decoder layer is recomputed in
// the backward pass. The peak resident memory during the passes is reported too, read from
// /proc/self/status (VmHWM) after resetting it (clear_refs 5) once the model exists.
//
// The fifth argument is the model's dtype (float32, or bfloat16 for a bf16 compute copy's speed:
// weights, activations and gradients in bf16; the matmul peak is then measured in bf16 too), the
// sixth its device (cpu, or cuda on a CUDA build: bench/gpu_check.sh). Timings end with a read of
// a result, which waits for the device. Peak memory is the host's.
//
//   learner_bench [batch (4)] [sequence length (128)] [repeats (3)] [activation checkpointing (0)]
//                 [dtype (float32)] [device (cpu)]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/learner_shape.h"
#include "common/model/transformer.h"

using rto::bench::ForwardBackwardFlops;
using rto::bench::MedianSeconds;
using rto::bench::PeakMemoryGiB;
using rto::bench::Qwen05B;
using rto::bench::ResetPeakMemory;

int main(int argc, char** argv) {
  const int64_t batch = argc > 1 ? std::atoll(argv[1]) : 4, seq = argc > 2 ? std::atoll(argv[2]) : 128;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 3;
  const bool checkpointing = argc > 4 && std::atoi(argv[4]) != 0;
  auto dtype = rto::ParseScalarType(argc > 5 ? argv[5] : "float32");
  if (!dtype.ok()) {
    std::printf("dtype: %s\n", std::string(dtype.status().message()).c_str());
    return 1;
  }
  auto device = rto::ParseDevice(argc > 6 ? argv[6] : "cpu");
  if (!device.ok()) {
    std::printf("device: %s\n", std::string(device.status().message()).c_str());
    return 1;
  }
  const rto::ModelConfig c = Qwen05B();
  const int64_t tokens = batch * seq;
  std::printf(
      "learner fwd+bwd, Qwen2.5-0.5B shape, %s on %s, batch %ld x %ld tokens, %d threads, median of %d, "
      "activation checkpointing %s\n\n",
      rto::ScalarTypeName(*dtype).c_str(), device->str().c_str(), batch, seq, at::get_num_threads(), repeats,
      checkpointing ? "on" : "off");

  // The matmul peak, at the shapes of the model's products ([tokens, in] x [in, out]).
  struct Shape {
    const char* what;
    int64_t m, k, n;
  };
  const std::vector<Shape> shapes = {{"square 2048", 2048, 2048, 2048},
                                     {"MLP up/gate", tokens, c.hidden_size, c.intermediate_size},
                                     {"MLP down", tokens, c.intermediate_size, c.hidden_size},
                                     {"LM head", tokens, c.hidden_size, c.vocab_size}};
  std::printf("| matmul | GFLOP/s |\n|---|---:|\n");
  double peak = 0;
  for (const Shape& s : shapes) {
    const auto options = at::TensorOptions().dtype(*dtype).device(*device);
    at::Tensor a = at::randn({s.m, s.k}, options), b = at::randn({s.k, s.n}, options),
               c = at::empty({s.m, s.n}, options);
    ResetPeakMemory();
    const double seconds = MedianSeconds(repeats, [&] {
      at::mm_out(c, a, b);
      c[0][0].item<float>();  // waits for the device
    });                       // no allocation: the pure product
    const double gflops = 2.0 * s.m * s.k * s.n / seconds / 1e9;
    peak = std::max(peak, gflops);
    std::printf("| %s (%ld x %ld x %ld) | %.1f |\n", s.what, s.m, s.k, s.n, gflops);
  }

  auto model = rto::Transformer::Create(c, *dtype, *device);
  if (!model.ok()) {
    std::printf("model: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  (*model)->InitRandom(0);
  (*model)->SetActivationCheckpointing(checkpointing);
  int64_t parameters = 0;
  std::vector<at::Tensor> params;
  for (const rto::NamedParameter& p : (*model)->parameters()) {
    parameters += p.tensor.numel();
    params.push_back(p.tensor.set_requires_grad(true));
  }
  at::Tensor ids = at::randint(0, c.vocab_size, {batch, seq}, at::kLong).to(*device);
  at::Tensor mask = at::ones({batch, seq}, at::TensorOptions().dtype(at::kLong).device(*device));
  at::Tensor targets = ids.narrow(1, 1, seq - 1);

  const double seconds = MedianSeconds(repeats, [&] {
    at::Tensor hidden = (*model)->Forward(ids, mask);
    at::Tensor logprobs = (*model)->TokenLogProbs(hidden.narrow(1, 0, seq - 1), targets);
    (-logprobs.mean()).backward();
    params.front().grad()[0][0].item<float>();  // waits for the device
    for (at::Tensor& p : params) p.mutable_grad().reset();
  });

  const double flops = ForwardBackwardFlops(c, batch, seq);
  const double achieved = flops / seconds / 1e9;
  std::printf("\nmodel: %.0fM parameters; %.1f GFLOP per fwd+bwd\n", parameters / 1e6, flops / 1e9);
  std::printf(
      "| fwd+bwd s | tokens/s | GFLOP/s | matmul peak GFLOP/s | efficiency | peak memory GiB |\n"
      "|---:|---:|---:|---:|---:|---:|\n");
  std::printf("| %.3f | %.0f | %.1f | %.1f | %.0f%% | %.2f |\n", seconds, tokens / seconds, achieved, peak,
              100 * achieved / peak, PeakMemoryGiB());
  return 0;
}
