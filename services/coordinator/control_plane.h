// The coordinator's control plane (proto/rto/v1/coordinator.proto): the registry of workers that
// registered and heartbeat, the run's state as operators see and steer it (pause, resume, stop),
// and the gRPC service over both. Torch-free; thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/rpc/metrics.h"
#include "common/util/metrics.h"
#include "rto/v1/coordinator.grpc.pb.h"

namespace rto {

struct WorkerInfo {
  std::string worker_id, role, name, address;
  int metrics_port = 0;
  int64_t pid = 0;
  std::chrono::steady_clock::time_point registered, last_heartbeat;
};

class WorkerRegistry {
 public:
  // A worker whose last heartbeat is older than `heartbeat_timeout` is no longer alive.
  explicit WorkerRegistry(std::chrono::milliseconds heartbeat_timeout) : timeout_(heartbeat_timeout) {}

  // Adds a worker, or replaces the one registered under the same name (a restarted worker). The
  // role must be rollout, scorer, critic or learner; name and address must not be empty.
  absl::StatusOr<WorkerInfo> Register(const std::string& role, const std::string& name, const std::string& address,
                                      int metrics_port, int64_t pid);
  // False for an unknown id (replaced, or registered with an earlier coordinator).
  bool Heartbeat(const std::string& worker_id);
  bool IsAlive(const WorkerInfo& worker) const;
  // Every registered worker, by role and name.
  std::vector<WorkerInfo> Workers() const;

  // Blocks until `counts[role]` workers of each role are alive and returns them by name. Every
  // poll calls `check`: an error from it (a dead child, a stop request) ends the wait.
  absl::StatusOr<std::map<std::string, std::vector<WorkerInfo>>> WaitFor(const std::map<std::string, int>& counts,
                                                                         std::chrono::milliseconds timeout,
                                                                         const std::function<absl::Status()>& check);
  // Blocks until a live worker of `role` whose id is not in `taken` registers: a replacement.
  absl::StatusOr<WorkerInfo> WaitForNew(const std::string& role, const std::set<std::string>& taken,
                                        std::chrono::milliseconds timeout, const std::function<absl::Status()>& check);

  // The run is over: heartbeats answer shutdown, so workers the coordinator did not start exit.
  void set_shutdown() { shutdown_ = true; }
  bool shutdown() const { return shutdown_; }

 private:
  std::vector<WorkerInfo> AliveLocked(const std::string& role) const;
  // Calls `attempt` with the lock held whenever the registry changes (or every 100 ms) until it
  // gives a value; after `timeout` fails with the reason it last gave. `check` runs between polls.
  template <typename T>
  absl::StatusOr<T> Await(std::chrono::milliseconds timeout, const std::function<absl::Status()>& check,
                          const std::function<std::optional<T>(std::string* why_not)>& attempt);
  const std::chrono::milliseconds timeout_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, WorkerInfo> by_id_;
  std::map<std::string, std::string> id_by_name_;
  int64_t next_id_ = 1;
  std::atomic<bool> shutdown_ = false;
};

// The run as operators steer it. The coordinator's loop calls BetweenSteps() before each step;
// Pause/Resume/Stop come from the service.
class RunControl {
 public:
  using State = v1::RunStatus::State;
  void Pause();
  void Resume();
  void Stop();
  bool stop_requested() const;
  // Blocks while paused; true when the run should stop now.
  bool BetweenSteps();
  void Start(int64_t step, int64_t total_steps);
  void Progress(int64_t step, int64_t policy_version, const Metrics& metrics);
  // The run ended: FINISHED, STOPPED (stop honoured before the last step) or FAILED.
  void End(const absl::Status& status);
  // State, progress and metrics (not the workers).
  v1::RunStatus Snapshot() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable changed_;
  State state_ = v1::RunStatus::WAITING_FOR_WORKERS;
  bool pause_ = false, stop_ = false;
  int64_t step_ = 0, total_steps_ = 0, policy_version_ = 0;
  Metrics last_metrics_;
  std::string error_;
};

class CoordinatorService final : public v1::Coordinator::Service {
 public:
  CoordinatorService(WorkerRegistry& registry, RunControl& control, std::chrono::milliseconds heartbeat_interval,
                     std::string run_dir, ServiceMetrics* metrics)
      : registry_(registry),
        control_(control),
        heartbeat_interval_(heartbeat_interval),
        run_dir_(std::move(run_dir)),
        metrics_(metrics) {}
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
  grpc::Status Answer(const char* method, void (RunControl::*command)(), v1::RunStatus* response);
  WorkerRegistry& registry_;
  RunControl& control_;
  std::chrono::milliseconds heartbeat_interval_;
  std::string run_dir_;
  ServiceMetrics* metrics_;
};

}  // namespace rto
