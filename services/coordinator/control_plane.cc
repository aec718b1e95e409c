#include "services/coordinator/control_plane.h"
#include "common/util/time.h"

#include <algorithm>
#include <iterator>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/rpc/handler.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

using Clock = std::chrono::steady_clock;

bool KnownRole(const std::string& role) {
  return role == "rollout" || role == "scorer" || role == "critic" || role == "learner";
}

}  // namespace

// --- registry ----------------------------------------------------------------------------------

absl::StatusOr<WorkerInfo> WorkerRegistry::Register(const std::string& role, const std::string& name,
                                                    const std::string& address, int metrics_port, int64_t pid,
                                                    int rank) {
  if (!KnownRole(role)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown role '", role, "' (expected rollout, scorer, critic or learner)"));
  }
  if (name.empty()) return absl::InvalidArgumentError("a worker registered without a name");
  if (name.size() > kMaxNameBytes || address.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a worker's name and address are at most ", kMaxNameBytes, " bytes each"));
  }
  if (address.empty() || address.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("worker '", name, "' registered address '", address, "', which is not host:port"));
  }
  if (rank < 0) return absl::InvalidArgumentError(absl::StrCat("worker '", name, "' registered rank ", rank));
  absl::MutexLock lock(&mu_);
  if (auto old = id_by_name_.find(name); old != id_by_name_.end()) {
    if (by_id_.at(old->second).role != role) {
      return absl::InvalidArgumentError(
          absl::StrCat("worker '", name, "' registered as ", role, " but is a ", by_id_.at(old->second).role));
    }
    by_id_.erase(old->second);
  }
  // Bounded: a flood of registrations (from a buggy or hostile holder of a worker's credentials)
  // cannot grow the registry without end. Workers that stopped heartbeating make room first.
  if (CountLocked(role) >= kMaxWorkersPerRole) {
    for (auto it = by_id_.begin(); it != by_id_.end();) {
      const bool dead = it->second.role == role && !IsAliveLocked(it->second);
      if (dead) id_by_name_.erase(it->second.name);
      it = dead ? by_id_.erase(it) : std::next(it);
    }
    if (CountLocked(role) >= kMaxWorkersPerRole) {
      return absl::ResourceExhaustedError(
          absl::StrCat(kMaxWorkersPerRole, " ", role, " workers are registered and alive; no room for '", name, "'"));
    }
  }
  WorkerInfo w;
  w.worker_id = absl::StrCat(name, "#", next_id_++);
  w.role = role;
  w.name = name;
  w.address = address;
  w.metrics_port = metrics_port;
  w.pid = pid;
  w.rank = rank;
  w.registered = w.last_heartbeat = Clock::now();
  by_id_[w.worker_id] = w;
  id_by_name_[name] = w.worker_id;
  changed_.SignalAll();
  return w;
}

bool WorkerRegistry::Heartbeat(const std::string& worker_id) {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(worker_id);
  if (it == by_id_.end()) return false;
  it->second.last_heartbeat = Clock::now();
  changed_.SignalAll();
  return true;
}

std::string WorkerRegistry::RoleOf(const std::string& worker_id) const {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(worker_id);
  return it == by_id_.end() ? "" : it->second.role;
}

void WorkerRegistry::Evict(const WorkerInfo& worker) {
  absl::MutexLock lock(&mu_);
  by_id_.erase(worker.worker_id);
  if (auto it = id_by_name_.find(worker.name); it != id_by_name_.end() && it->second == worker.worker_id) {
    id_by_name_.erase(it);
  }
  evicted_.insert(worker.worker_id);
  changed_.SignalAll();
}

bool WorkerRegistry::Evicted(const std::string& worker_id) const {
  absl::MutexLock lock(&mu_);
  return evicted_.count(worker_id) > 0;
}

bool WorkerRegistry::IsAliveLocked(const WorkerInfo& w) const { return Clock::now() - w.last_heartbeat <= timeout_; }

int WorkerRegistry::CountLocked(const std::string& role) const {
  int n = 0;
  for (const auto& [id, w] : by_id_) n += w.role == role ? 1 : 0;
  return n;
}

bool WorkerRegistry::IsAlive(const WorkerInfo& worker) const {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(worker.worker_id);
  return it != by_id_.end() && IsAliveLocked(it->second);
}

std::vector<WorkerInfo> WorkerRegistry::Workers() const {
  absl::MutexLock lock(&mu_);
  std::vector<WorkerInfo> out;
  for (const auto& [id, w] : by_id_) out.push_back(w);
  std::sort(out.begin(), out.end(), [](const WorkerInfo& a, const WorkerInfo& b) {
    return std::tie(a.role, a.name) < std::tie(b.role, b.name);
  });
  return out;
}

WorkerRegistry::ByRole WorkerRegistry::AliveLocked() const {
  ByRole out;
  for (const auto& [id, w] : by_id_) {
    if (IsAliveLocked(w)) out[w.role].push_back(w);
  }
  for (auto& [role, list] : out) {
    std::sort(list.begin(), list.end(), [](const WorkerInfo& a, const WorkerInfo& b) { return a.name < b.name; });
  }
  return out;
}

template <typename T>
absl::StatusOr<T> WorkerRegistry::Await(
    std::chrono::milliseconds timeout, const std::function<absl::Status()>& check,
    const std::function<std::optional<T>(const ByRole& alive, std::string* why_not)>& attempt) {
  const auto end = Clock::now() + timeout;
  while (true) {
    ByRole alive;
    {
      absl::MutexLock lock(&mu_);
      alive = AliveLocked();
    }
    std::string why_not;
    if (std::optional<T> done = attempt(alive, &why_not)) return *std::move(done);
    if (Clock::now() > end) return absl::DeadlineExceededError(why_not);
    {
      absl::MutexLock lock(&mu_);
      changed_.WaitWithTimeout(&mu_, absl::Milliseconds(100));
    }
    if (check) RTO_RETURN_IF_ERROR(check());
  }
}

absl::StatusOr<std::map<std::string, std::vector<WorkerInfo>>> WorkerRegistry::WaitFor(
    const std::map<std::string, int>& counts, std::chrono::milliseconds timeout,
    const std::function<absl::Status()>& check) {
  return Await<ByRole>(timeout, check, [&](const ByRole& alive, std::string* why_not) -> std::optional<ByRole> {
    ByRole found;
    std::vector<std::string> missing;
    for (const auto& [role, count] : counts) {
      auto it = alive.find(role);
      found[role] = it == alive.end() ? std::vector<WorkerInfo>() : it->second;
      if (static_cast<int>(found[role].size()) < count) {
        missing.push_back(absl::StrCat(count - found[role].size(), " ", role));
      } else {
        found[role].resize(count);
      }
    }
    if (missing.empty()) return found;
    *why_not = absl::StrCat("still waiting for ", absl::StrJoin(missing, ", "), " worker(s) to register after ",
                            timeout.count(), " ms");
    return std::nullopt;
  });
}

absl::StatusOr<WorkerInfo> WorkerRegistry::WaitForNew(const std::string& role, const std::set<std::string>& taken,
                                                      std::chrono::milliseconds timeout,
                                                      const std::function<absl::Status()>& check, int rank) {
  return Await<WorkerInfo>(timeout, check, [&](const ByRole& alive, std::string* why_not) -> std::optional<WorkerInfo> {
    if (auto it = alive.find(role); it != alive.end()) {
      for (const WorkerInfo& w : it->second) {
        if (!taken.count(w.worker_id) && (rank < 0 || w.rank == rank)) return w;
      }
    }
    *why_not = absl::StrCat("no new ", role, rank < 0 ? "" : absl::StrCat(" rank ", rank), " worker registered within ",
                            timeout.count(), " ms");
    return std::nullopt;
  });
}

// --- run control -------------------------------------------------------------------------------

void RunControl::Pause() {
  absl::MutexLock lock(&mu_);
  pause_ = true;
  if (run_.state == RunState::kRunning) run_.state = RunState::kPausing;
  changed_.SignalAll();
}

void RunControl::Resume() {
  absl::MutexLock lock(&mu_);
  pause_ = false;
  if (run_.state == RunState::kPausing || run_.state == RunState::kPaused) run_.state = RunState::kRunning;
  changed_.SignalAll();
}

void RunControl::Stop() {
  absl::MutexLock lock(&mu_);
  stop_ = true;
  if (run_.state == RunState::kRunning || run_.state == RunState::kPausing || run_.state == RunState::kPaused) {
    run_.state = RunState::kStopping;
  }
  changed_.SignalAll();
}

bool RunControl::stop_requested() const {
  absl::MutexLock lock(&mu_);
  return stop_;
}

bool RunControl::BetweenSteps() {
  absl::MutexLock lock(&mu_);
  if (pause_ && !stop_) run_.state = RunState::kPaused;
  while (pause_ && !stop_) changed_.Wait(&mu_);
  if (stop_) return true;
  run_.state = RunState::kRunning;
  return false;
}

void RunControl::Start(int64_t step, int64_t total_steps) {
  absl::MutexLock lock(&mu_);
  run_.step = step;
  run_.total_steps = total_steps;
  if (run_.state == RunState::kWaitingForWorkers) {
    run_.state = stop_ ? RunState::kStopping : pause_ ? RunState::kPausing : RunState::kRunning;
  }
}

void RunControl::Progress(int64_t step, int64_t policy_version, const Metrics& metrics) {
  absl::MutexLock lock(&mu_);
  run_.step = step;
  run_.policy_version = policy_version;
  run_.last_metrics = metrics;
}

void RunControl::Recovered(const std::string& what) {
  absl::MutexLock lock(&mu_);
  run_.recoveries.push_back(absl::StrCat("step ", run_.step, ": ", what));
}

void RunControl::End(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (!status.ok()) {
    run_.state = RunState::kFailed;
    run_.error = std::string(status.message());
  } else {
    run_.state = run_.step < run_.total_steps ? RunState::kStopped : RunState::kFinished;
  }
  changed_.SignalAll();
}

RunSnapshot RunControl::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return run_;
}

v1::RunStatus::State ToProto(RunState s) {
  switch (s) {
    case RunState::kWaitingForWorkers: return v1::RunStatus::WAITING_FOR_WORKERS;
    case RunState::kRunning: return v1::RunStatus::RUNNING;
    case RunState::kPausing: return v1::RunStatus::PAUSING;
    case RunState::kPaused: return v1::RunStatus::PAUSED;
    case RunState::kStopping: return v1::RunStatus::STOPPING;
    case RunState::kStopped: return v1::RunStatus::STOPPED;
    case RunState::kFinished: return v1::RunStatus::FINISHED;
    case RunState::kFailed: return v1::RunStatus::FAILED;
  }
  return v1::RunStatus::STATE_UNSPECIFIED;
}

// --- service -----------------------------------------------------------------------------------

grpc::Status CoordinatorService::Register(grpc::ServerContext* context, const v1::RegisterRequest* request,
                                          v1::RegisterResponse* response) {
  return Handle(metrics_, "Register", [&]() -> absl::Status {
    // A worker registers only as its own role: a rollout's credentials cannot take a learner's place.
    if (const std::string caller = security_ ? security_->CallerOf(*context) : "";
        !caller.empty() && caller != request->role()) {
      return absl::PermissionDeniedError(
          absl::StrCat("the ", caller, " may not register as a ", request->role(), " worker"));
    }
    RTO_ASSIGN_OR_RETURN(WorkerInfo w, registry_.Register(request->role(), request->name(), request->address(),
                                                          request->metrics_port(), request->pid(), request->rank()));
    response->set_worker_id(w.worker_id);
    response->set_heartbeat_interval_ms(heartbeat_interval_.count());
    return absl::OkStatus();
  });
}

grpc::Status CoordinatorService::Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                                           v1::HeartbeatResponse* response) {
  return Handle(metrics_, "Heartbeat", [&]() -> absl::Status {
    // Only a worker's own role heartbeats for it: another's credentials cannot keep a dead worker
    // alive.
    const std::string caller = security_ ? security_->CallerOf(*context) : "";
    if (const std::string role = registry_.RoleOf(request->worker_id());
        !caller.empty() && !role.empty() && caller != role) {
      return absl::PermissionDeniedError(
          absl::StrCat("the ", caller, " may not heartbeat for ", request->worker_id(), ", a ", role, " worker"));
    }
    response->set_known(registry_.Heartbeat(request->worker_id()));
    response->set_evicted(registry_.Evicted(request->worker_id()));
    response->set_shutdown(registry_.shutdown());
    return absl::OkStatus();
  });
}

void CoordinatorService::FillStatus(v1::RunStatus* status) const {
  const RunSnapshot run = control_.Snapshot();
  status->set_state(ToProto(run.state));
  status->set_step(run.step);
  status->set_total_steps(run.total_steps);
  status->set_policy_version(run.policy_version);
  for (const auto& [key, value] : run.last_metrics) (*status->mutable_last_metrics())[key] = value;
  status->set_error(run.error);
  for (const std::string& line : run.recoveries) status->add_recoveries(line);
  status->set_run_dir(run_dir_);
  for (const WorkerInfo& w : registry_.Workers()) {
    v1::WorkerStatus* out = status->add_workers();
    out->set_worker_id(w.worker_id);
    out->set_role(w.role);
    out->set_name(w.name);
    out->set_address(w.address);
    out->set_metrics_port(w.metrics_port);
    out->set_pid(w.pid);
    out->set_rank(w.rank);
    out->set_alive(registry_.IsAlive(w));
    out->set_seconds_since_heartbeat(SecondsSince(w.last_heartbeat));
    out->set_registered_seconds_ago(SecondsSince(w.registered));
  }
}

grpc::Status CoordinatorService::Answer(const char* method, const std::function<void()>& command,
                                        v1::RunStatus* response) {
  return Handle(metrics_, method, [&]() -> absl::Status {
    if (command) command();
    FillStatus(response);
    return absl::OkStatus();
  });
}

grpc::Status CoordinatorService::GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*, v1::RunStatus* response) {
  return Answer("GetStatus", nullptr, response);
}

grpc::Status CoordinatorService::Pause(grpc::ServerContext*, const v1::ControlRequest*, v1::RunStatus* response) {
  return Answer(
      "Pause", [this] { control_.Pause(); }, response);
}

grpc::Status CoordinatorService::Resume(grpc::ServerContext*, const v1::ControlRequest*, v1::RunStatus* response) {
  return Answer(
      "Resume", [this] { control_.Resume(); }, response);
}

grpc::Status CoordinatorService::Stop(grpc::ServerContext*, const v1::ControlRequest*, v1::RunStatus* response) {
  return Answer(
      "Stop", [this] { control_.Stop(); }, response);
}

}  // namespace rto
