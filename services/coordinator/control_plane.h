// The coordinator's control plane (proto/rto/v1/coordinator.proto): the registry of workers that
// registered and heartbeat, the run's state as operators see and steer it (pause, resume, stop),
// and the gRPC service over both. Torch-free; thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/rpc/metrics.h"
#include "common/security/transport_security.h"
#include "common/util/metrics.h"
#include "rto/v1/coordinator.grpc.pb.h"

namespace rto {

struct WorkerInfo {
  std::string worker_id, role, name, address;
  int metrics_port = 0;
  int64_t pid = 0;
  int rank = 0;  // among its role's data-parallel ranks (learner, critic)
  std::chrono::steady_clock::time_point registered, last_heartbeat;
};

class WorkerRegistry {
 public:
  // A worker whose last heartbeat is older than `heartbeat_timeout` is no longer alive.
  explicit WorkerRegistry(std::chrono::milliseconds heartbeat_timeout) : timeout_(heartbeat_timeout) {}

  // At most this many workers of a role: more registrations fail RESOURCE_EXHAUSTED once the
  // ones that stopped heartbeating are forgotten.
  static constexpr int kMaxWorkersPerRole = 256;
  static constexpr size_t kMaxNameBytes = 256;  // of a name, and of an address

  // Adds a worker, or replaces the one registered under the same name (a restarted worker). The
  // role must be rollout, scorer, critic or learner; name and address must not be empty (nor
  // longer than kMaxNameBytes); rank >= 0.
  absl::StatusOr<WorkerInfo> Register(const std::string& role, const std::string& name, const std::string& address,
                                      int metrics_port, int64_t pid, int rank = 0);
  // False for an unknown id (replaced, evicted, or registered with an earlier coordinator).
  bool Heartbeat(const std::string& worker_id);
  // The role a worker registered with ("" for an unknown id). Ids are never reused.
  std::string RoleOf(const std::string& worker_id) const;
  // Forgets a worker for good: its heartbeats answer `evicted` from now on (Evicted), so that the
  // process exits instead of registering again.
  void Evict(const WorkerInfo& worker);
  bool Evicted(const std::string& worker_id) const;
  bool IsAlive(const WorkerInfo& worker) const;
  // Every registered worker, by role and name.
  std::vector<WorkerInfo> Workers() const;

  // Blocks until `counts[role]` workers of each role are alive and returns them by name. Every
  // poll calls `check`: an error from it (a dead child, a stop request) ends the wait.
  absl::StatusOr<std::map<std::string, std::vector<WorkerInfo>>> WaitFor(const std::map<std::string, int>& counts,
                                                                         std::chrono::milliseconds timeout,
                                                                         const std::function<absl::Status()>& check);
  // Blocks until a live worker of `role` (and of `rank`, when >= 0) whose id is not in `taken`
  // registers: a replacement.
  absl::StatusOr<WorkerInfo> WaitForNew(const std::string& role, const std::set<std::string>& taken,
                                        std::chrono::milliseconds timeout, const std::function<absl::Status()>& check,
                                        int rank = -1);

  // The run is over: heartbeats answer shutdown, so workers the coordinator did not start exit.
  void set_shutdown() { shutdown_ = true; }
  bool shutdown() const { return shutdown_; }

 private:
  // The live workers of each role, by name.
  using ByRole = std::map<std::string, std::vector<WorkerInfo>>;
  ByRole AliveLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int CountLocked(const std::string& role) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether `w` (an entry of by_id_) heartbeat within the timeout.
  bool IsAliveLocked(const WorkerInfo& w) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Calls `attempt` with the live workers whenever the registry changes (or every 100 ms) until
  // it gives a value; after `timeout` fails with the reason it last gave. `check` runs between
  // polls.
  template <typename T>
  absl::StatusOr<T> Await(std::chrono::milliseconds timeout, const std::function<absl::Status()>& check,
                          const std::function<std::optional<T>(const ByRole& alive, std::string* why_not)>& attempt);
  const std::chrono::milliseconds timeout_;
  mutable absl::Mutex mu_;
  absl::CondVar changed_;
  std::map<std::string, WorkerInfo> by_id_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> id_by_name_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> evicted_ ABSL_GUARDED_BY(mu_);
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::atomic<bool> shutdown_ = false;
};

enum class RunState { kWaitingForWorkers, kRunning, kPausing, kPaused, kStopping, kStopped, kFinished, kFailed };

// The run as `rto ctl status` shows it (the workers come from the registry).
struct RunSnapshot {
  RunState state = RunState::kWaitingForWorkers;
  int64_t step = 0, total_steps = 0, policy_version = 0;
  Metrics last_metrics;
  std::string error;                    // when FAILED
  std::vector<std::string> recoveries;  // what each recovery did, in order ("step 10: ...")
};

// The run as operators steer it. The coordinator's loop calls BetweenSteps() before each step;
// Pause/Resume/Stop come from the service.
class RunControl {
 public:
  void Pause();
  void Resume();
  void Stop();
  bool stop_requested() const;
  // Blocks while paused; true when the run should stop now.
  bool BetweenSteps();
  void Start(int64_t step, int64_t total_steps);
  void Progress(int64_t step, int64_t policy_version, const Metrics& metrics);
  // A line about a recovery for `rto ctl status`, prefixed with the current step.
  void Recovered(const std::string& what);
  // The run ended: FINISHED, STOPPED (stop honoured before the last step) or FAILED.
  void End(const absl::Status& status);
  RunSnapshot Snapshot() const;

 private:
  mutable absl::Mutex mu_;
  absl::CondVar changed_;
  RunSnapshot run_ ABSL_GUARDED_BY(mu_);
  bool pause_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
};

v1::RunStatus::State ToProto(RunState state);

class CoordinatorService final : public v1::Coordinator::Service {
 public:
  CoordinatorService(WorkerRegistry& registry, RunControl& control, std::chrono::milliseconds heartbeat_interval,
                     std::string run_dir, ServiceMetrics* metrics,
                     std::shared_ptr<const TransportSecurity> security = nullptr)
      : registry_(registry),
        control_(control),
        heartbeat_interval_(heartbeat_interval),
        run_dir_(std::move(run_dir)),
        metrics_(metrics),
        security_(std::move(security)) {}
  grpc::Status Register(grpc::ServerContext* context, const v1::RegisterRequest* request,
                        v1::RegisterResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;
  grpc::Status GetStatus(grpc::ServerContext* context, const v1::GetStatusRequest* request,
                         v1::RunStatus* response) override;
  grpc::Status Pause(grpc::ServerContext* context, const v1::ControlRequest* request, v1::RunStatus* response) override;
  grpc::Status Resume(grpc::ServerContext* context, const v1::ControlRequest* request,
                      v1::RunStatus* response) override;
  grpc::Status Stop(grpc::ServerContext* context, const v1::ControlRequest* request, v1::RunStatus* response) override;

 private:
  void FillStatus(v1::RunStatus* status) const;
  // Runs `command` (none for a status query) and answers with the status after it.
  grpc::Status Answer(const char* method, const std::function<void()>& command, v1::RunStatus* response);
  WorkerRegistry& registry_;
  RunControl& control_;
  std::chrono::milliseconds heartbeat_interval_;
  std::string run_dir_;
  ServiceMetrics* metrics_;
  // Who calls (the server's token check lets only workers' principals call Register and
  // Heartbeat); null: plaintext, no caller known.
  std::shared_ptr<const TransportSecurity> security_;
};

}  // namespace rto
