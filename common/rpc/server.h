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

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/actors/roles.h"
#include "common/rpc/mailbox.h"
#include "common/rpc/metrics.h"
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
};
// Starts a server with `services` and grpc.health.v1 (SERVING once started); *bound_port gets
// the port.
absl::StatusOr<std::unique_ptr<grpc::Server>> StartServer(const std::vector<grpc::Service*>& services,
                                                          const ServerOptions& options, int* bound_port);

// rto_<role>_mailbox_depth: work waiting or running in the actor's mailbox.
void ObserveMailbox(ServiceMetrics* metrics, const Mailbox& mailbox);

// rto_<role>_weight_sync_seconds, _bytes_total and _shared_memory of one transfer.
void ObserveWeightSync(ServiceMetrics* metrics, const WeightSyncStats& stats);

// Save / Restore / SavePolicy: `fn(dir)` on the actor thread; an empty directory is refused.
grpc::Status HandleCheckpoint(ServiceMetrics* metrics, Mailbox& mailbox, Mailbox::Deadline deadline, const char* method,
                              const v1::CheckpointRequest& request,
                              const std::function<absl::Status(const std::string&)>& fn);

// WeightsHash: `fingerprint()` on the actor thread.
grpc::Status HandleWeightsHash(ServiceMetrics* metrics, Mailbox& mailbox, Mailbox::Deadline deadline,
                               const std::function<absl::StatusOr<WeightsFingerprint>()>& fingerprint,
                               v1::WeightsHashResponse* response);

}  // namespace rto
