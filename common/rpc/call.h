// How the clients of the roles call: channels with the configured message limit, a deadline on
// every call, retries with exponential backoff and jitter for idempotent calls only (on
// UNAVAILABLE and RESOURCE_EXHAUSTED), health checks, and the split of a batch over replicas.
// Torch-free.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "common/rpc/status.h"
#include "common/security/transport_security.h"
#include "common/util/share.h"
#include "rto/v1/trajectory.pb.h"

namespace rto {

struct ClientOptions {
  std::chrono::milliseconds deadline{std::chrono::minutes(10)};  // one call, all its attempts together
  int attempts = 4;                                              // idempotent calls only
  std::chrono::milliseconds backoff{100};
  int64_t max_message_bytes = 256 << 20;
  // TLS and this process's token (transport_security.h); null: plaintext, for tests only.
  std::shared_ptr<const TransportSecurity> security;
  // When set, polled while a call waits: once it returns false the call is cancelled and fails
  // UNAVAILABLE. A peer that stopped heartbeating (a hung process, whose socket stays open) is
  // lost without waiting for the deadline (so is a data-parallel rank whose peer failed: its call
  // would wait in a collective). REQUIRES: thread-safe.
  std::function<bool()> peer_alive;
};

// Runs fn(context), cancelling the context when o.peer_alive turns false (polled every 100 ms);
// `cancelled` says whether it did.
grpc::Status CallWatched(const ClientOptions& o, grpc::ClientContext& context,
                         const std::function<grpc::Status(grpc::ClientContext&)>& fn, bool* cancelled);

std::shared_ptr<grpc::Channel> Connect(const std::string& address, const ClientOptions& options);
// Polls grpc.health.v1 until the server answers SERVING for `service` ("": the server as a
// whole) or `timeout` passes.
absl::Status WaitHealthy(const std::shared_ptr<grpc::Channel>& channel, const std::string& name,
                         std::chrono::milliseconds timeout, const std::string& service = "");

// Calls fn(context); retries idempotent calls on UNAVAILABLE and RESOURCE_EXHAUSTED with
// exponential backoff and jitter. The deadline bounds the whole call: every attempt carries the
// same one (the server drops work whose deadline has passed), and no retry starts after it.
template <typename Fn>
absl::Status Call(const ClientOptions& o, bool idempotent, const std::string& what, Fn fn) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  const auto deadline = std::chrono::system_clock::now() + o.deadline;
  for (int attempt = 0;; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(deadline);
    bool cancelled = false;
    const grpc::Status s = CallWatched(o, context, fn, &cancelled);
    if (s.ok()) return absl::OkStatus();
    if (cancelled) {
      return absl::UnavailableError(what +
                                    ": cancelled: the worker stopped heartbeating, or a data-parallel peer failed");
    }
    const bool transient =
        s.error_code() == grpc::StatusCode::UNAVAILABLE || s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
    const double jitter = std::uniform_real_distribution<double>(0.5, 1.5)(rng);
    const auto backoff = std::chrono::duration_cast<std::chrono::milliseconds>(o.backoff * (1 << attempt) * jitter);
    if (!idempotent || !transient || attempt + 1 >= o.attempts ||
        std::chrono::system_clock::now() + backoff >= deadline) {
      return FromGrpc(s, what);
    }
    std::this_thread::sleep_for(backoff);
  }
}

// Save / Restore / SavePolicy of `dir` through the stub's `method`; idempotent.
template <typename Stub, typename Method>
absl::Status CheckpointCall(const ClientOptions& o, Stub& stub, Method method, const std::string& what,
                            const std::string& dir) {
  v1::CheckpointRequest request;
  request.set_dir(dir);
  v1::CheckpointResponse response;
  return Call(o, true, what, [&](grpc::ClientContext& c) { return (stub.*method)(&c, request, &response); });
}

}  // namespace rto
