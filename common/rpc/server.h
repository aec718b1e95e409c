// What every role's gRPC service shares: server start-up (with grpc.health.v1), the mailbox's
// depth as a metric, and the RPCs several roles answer alike (Save / Restore / SavePolicy of a
// directory, WeightsHash), run on the actor thread.
//
// A role's service is a thin shell over its actor (the role interface of common/actors/roles.h):
// handlers never touch a model; they decode and validate the request, post the work into the
// actor's mailbox, wait for the result and encode it. A full mailbox answers RESOURCE_EXHAUSTED;
// bad requests answer INVALID_ARGUMENT with the reason; every request is counted and timed.
// Torch-free.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/actors/roles.h"
#include "common/rpc/mailbox.h"
#include "common/rpc/metrics.h"
#include "common/security/transport_security.h"
#include "rto/v1/rollout.pb.h"
#include "rto/v1/trajectory.pb.h"

namespace rto {

struct ServiceOptions {
  int64_t mailbox_capacity = 8;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 picks a free port
  int64_t max_message_bytes = 256 << 20;
  // TLS and the token check (transport_security.h); null: plaintext, for tests only (every
  // process loads its own from the config's security block).
  std::shared_ptr<const TransportSecurity> security;
  // A second, plaintext port serving only grpc.health.v1's Check (serving status, nothing else),
  // for probes that speak neither TLS nor tokens (Kubernetes' gRPC probes, compose health
  // checks): -1 none, 0 a free port.
  int health_port = -1;
};

// A started server: the services on their port and the health-only port, when asked for.
class RpcServer {
 public:
  RpcServer(std::unique_ptr<grpc::Server> server, int port, std::unique_ptr<grpc::Service> health_service,
            std::unique_ptr<grpc::Server> health_server, int health_port);
  ~RpcServer();
  int port() const { return port_; }
  int health_port() const { return health_port_; }  // -1 when there is none
  // Finishes the calls in flight until `deadline`, then cancels the rest.
  void Shutdown(std::chrono::system_clock::time_point deadline);
  // grpc.health.v1 answers SERVING for `service` from now on (besides "", always SERVING), and
  // NOT_FOUND for any name never set. A worker sets its registration's id, so that a caller can
  // tell this process from another one at the same address. Thread-safe.
  void SetServing(const std::string& service);

 private:
  std::unique_ptr<grpc::Server> server_;
  int port_;
  std::unique_ptr<grpc::Service> health_service_;
  std::unique_ptr<grpc::Server> health_server_;
  int health_port_;
};

// Starts a server with `services` and grpc.health.v1 (SERVING once started).
absl::StatusOr<std::unique_ptr<RpcServer>> StartServer(const std::vector<grpc::Service*>& services,
                                                       const ServerOptions& options);

// rto_<role>_mailbox_depth: work waiting or running in the actor's mailbox.
void ObserveMailbox(ServiceMetrics* metrics, const Mailbox& mailbox);

// rto_<role>_weight_sync_seconds, _bytes_total and _shared_memory of one transfer.
void ObserveWeightSync(ServiceMetrics* metrics, const WeightSyncStats& stats);

// Save / Restore / SavePolicy: `fn(dir)` on the actor thread (the control lane); an empty
// directory is refused.
grpc::Status HandleCheckpoint(ServiceMetrics* metrics, Mailbox& mailbox, Mailbox::Deadline deadline, const char* method,
                              const v1::CheckpointRequest& request,
                              const std::function<absl::Status(const std::string&)>& fn);

// WeightsHash: `fingerprint()` on the actor thread.
grpc::Status HandleWeightsHash(ServiceMetrics* metrics, Mailbox& mailbox, Mailbox::Deadline deadline,
                               const std::function<absl::StatusOr<WeightsFingerprint>()>& fingerprint,
                               v1::WeightsHashResponse* response);

}  // namespace rto
