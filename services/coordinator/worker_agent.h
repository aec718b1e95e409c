// A worker's side of the control plane: registers the worker's server with the coordinator and
// heartbeats from a thread of its own, for as long as the worker lives. A coordinator that is not
// up yet or went away is retried (the worker keeps serving meanwhile); one that restarted and no
// longer knows the worker gets a fresh registration. Torch-free.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

#include "common/security/transport_security.h"
#include "rto/v1/coordinator.grpc.pb.h"

namespace rto {

struct WorkerAgentOptions {
  std::string coordinator;  // host:port
  std::string role, name, address;
  int metrics_port = 0;
  int rank = 0;                                       // among its role's data-parallel ranks
  std::chrono::milliseconds retry{1000};              // between attempts while the coordinator is unreachable
  std::shared_ptr<const TransportSecurity> security;  // null: plaintext (tests)
  // Called (on the agent's thread) with the worker id of every registration that succeeded.
  std::function<void(const std::string& worker_id)> on_registered;
};

// The host others reach a server at that binds `bind_host`: itself, or for a wildcard (0.0.0.0,
// ::, as in a container) this machine's IPv4 address as its hostname resolves (a pod or container
// IP), falling back to the hostname.
std::string ReachableHost(const std::string& bind_host);

class WorkerAgent {
 public:
  explicit WorkerAgent(WorkerAgentOptions options);
  ~WorkerAgent();
  // The coordinator said the run is over.
  bool shutdown_requested() const { return shutdown_; }
  // The coordinator evicted this worker: the process must exit (and not register again).
  bool evicted() const { return evicted_; }
  // Whether the coordinator knows this worker now.
  bool registered() const { return registered_; }
  // The coordinator refused this worker for good (its credentials, or a registration it will
  // never accept): the reason; empty otherwise. The process must exit with it.
  std::string refused() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Loop();
  // OK once the coordinator took this worker; otherwise why not.
  grpc::Status Register();
  // Whether `s` refuses this worker for good (recorded in refused_).
  bool Refused(const grpc::Status& s, const char* call);
  WorkerAgentOptions options_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
  std::string worker_id_;
  std::chrono::milliseconds interval_{1000};
  std::atomic<bool> shutdown_ = false, registered_ = false, evicted_ = false;
  mutable absl::Mutex mu_;
  absl::CondVar wake_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::string refused_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace rto
