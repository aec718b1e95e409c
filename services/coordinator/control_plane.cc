#include "services/coordinator/control_plane.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/rpc/handler.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool KnownRole(const std::string& role) {
  return role == "rollout" || role == "scorer" || role == "critic" || role == "learner";
}

}  // namespace

// --- registry ----------------------------------------------------------------------------------

absl::StatusOr<WorkerInfo> WorkerRegistry::Register(const std::string& role, const std::string& name,
                                                    const std::string& address, int metrics_port, int64_t pid) {
  if (!KnownRole(role)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown role '", role, "' (expected rollout, scorer, critic or learner)"));
  }
  if (name.empty()) return absl::InvalidArgumentError("a worker registered without a name");
  if (address.empty() || address.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("worker '", name, "' registered address '", address, "', which is not host:port"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (auto old = id_by_name_.find(name); old != id_by_name_.end()) {
    if (by_id_.at(old->second).role != role) {
      return absl::InvalidArgumentError(
          absl::StrCat("worker '", name, "' registered as ", role, " but is a ", by_id_.at(old->second).role));
    }
    by_id_.erase(old->second);
  }
  WorkerInfo w;
  w.worker_id = absl::StrCat(name, "#", next_id_++);
  w.role = role;
  w.name = name;
  w.address = address;
  w.metrics_port = metrics_port;
  w.pid = pid;
  w.registered = w.last_heartbeat = Clock::now();
  by_id_[w.worker_id] = w;
  id_by_name_[name] = w.worker_id;
  changed_.notify_all();
  return w;
}

bool WorkerRegistry::Heartbeat(const std::string& worker_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(worker_id);
  if (it == by_id_.end()) return false;
  it->second.last_heartbeat = Clock::now();
  changed_.notify_all();
  return true;
}

bool WorkerRegistry::IsAlive(const WorkerInfo& worker) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(worker.worker_id);
  return it != by_id_.end() && Clock::now() - it->second.last_heartbeat <= timeout_;
}

std::vector<WorkerInfo> WorkerRegistry::Workers() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<WorkerInfo> out;
  for (const auto& [id, w] : by_id_) out.push_back(w);
  std::sort(out.begin(), out.end(), [](const WorkerInfo& a, const WorkerInfo& b) {
    return std::tie(a.role, a.name) < std::tie(b.role, b.name);
  });
  return out;
}

std::vector<WorkerInfo> WorkerRegistry::AliveLocked(const std::string& role) const {
  std::vector<WorkerInfo> out;
  for (const auto& [id, w] : by_id_) {
    if (w.role == role && Clock::now() - w.last_heartbeat <= timeout_) out.push_back(w);
  }
  std::sort(out.begin(), out.end(), [](const WorkerInfo& a, const WorkerInfo& b) { return a.name < b.name; });
  return out;
}

template <typename T>
absl::StatusOr<T> WorkerRegistry::Await(std::chrono::milliseconds timeout, const std::function<absl::Status()>& check,
                                        const std::function<std::optional<T>(std::string* why_not)>& attempt) {
  const auto end = Clock::now() + timeout;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      std::string why_not;
      if (std::optional<T> done = attempt(&why_not)) return *std::move(done);
      if (Clock::now() > end) return absl::DeadlineExceededError(why_not);
      changed_.wait_for(lock, std::chrono::milliseconds(100));
    }
    if (check) RTO_RETURN_IF_ERROR(check());
  }
}

absl::StatusOr<std::map<std::string, std::vector<WorkerInfo>>> WorkerRegistry::WaitFor(
    const std::map<std::string, int>& counts, std::chrono::milliseconds timeout,
    const std::function<absl::Status()>& check) {
  using ByRole = std::map<std::string, std::vector<WorkerInfo>>;
  return Await<ByRole>(timeout, check, [&](std::string* why_not) -> std::optional<ByRole> {
    ByRole found;
    std::vector<std::string> missing;
    for (const auto& [role, count] : counts) {
      found[role] = AliveLocked(role);
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
                                                      const std::function<absl::Status()>& check) {
  return Await<WorkerInfo>(timeout, check, [&](std::string* why_not) -> std::optional<WorkerInfo> {
    for (const WorkerInfo& w : AliveLocked(role)) {
      if (!taken.count(w.worker_id)) return w;
    }
    *why_not = absl::StrCat("no new ", role, " worker registered within ", timeout.count(), " ms");
    return std::nullopt;
  });
}

// --- run control -------------------------------------------------------------------------------

void RunControl::Pause() {
  std::lock_guard<std::mutex> lock(mu_);
  pause_ = true;
  if (state_ == v1::RunStatus::RUNNING) state_ = v1::RunStatus::PAUSING;
  changed_.notify_all();
}

void RunControl::Resume() {
  std::lock_guard<std::mutex> lock(mu_);
  pause_ = false;
  if (state_ == v1::RunStatus::PAUSING || state_ == v1::RunStatus::PAUSED) state_ = v1::RunStatus::RUNNING;
  changed_.notify_all();
}

void RunControl::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stop_ = true;
  if (state_ == v1::RunStatus::RUNNING || state_ == v1::RunStatus::PAUSING || state_ == v1::RunStatus::PAUSED) {
    state_ = v1::RunStatus::STOPPING;
  }
  changed_.notify_all();
}

bool RunControl::stop_requested() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

bool RunControl::BetweenSteps() {
  std::unique_lock<std::mutex> lock(mu_);
  if (pause_ && !stop_) state_ = v1::RunStatus::PAUSED;
  changed_.wait(lock, [&] { return !pause_ || stop_; });
  if (stop_) return true;
  state_ = v1::RunStatus::RUNNING;
  return false;
}

void RunControl::Start(int64_t step, int64_t total_steps) {
  std::lock_guard<std::mutex> lock(mu_);
  step_ = step;
  total_steps_ = total_steps;
  if (state_ == v1::RunStatus::WAITING_FOR_WORKERS) {
    state_ = stop_ ? v1::RunStatus::STOPPING : pause_ ? v1::RunStatus::PAUSING : v1::RunStatus::RUNNING;
  }
}

void RunControl::Progress(int64_t step, int64_t policy_version, const Metrics& metrics) {
  std::lock_guard<std::mutex> lock(mu_);
  step_ = step;
  policy_version_ = policy_version;
  last_metrics_ = metrics;
}

void RunControl::End(const absl::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!status.ok()) {
    state_ = v1::RunStatus::FAILED;
    error_ = std::string(status.message());
  } else {
    state_ = step_ < total_steps_ ? v1::RunStatus::STOPPED : v1::RunStatus::FINISHED;
  }
  changed_.notify_all();
}

v1::RunStatus RunControl::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  v1::RunStatus s;
  s.set_state(state_);
  s.set_step(step_);
  s.set_total_steps(total_steps_);
  s.set_policy_version(policy_version_);
  for (const auto& [key, value] : last_metrics_) (*s.mutable_last_metrics())[key] = value;
  s.set_error(error_);
  return s;
}

// --- service -----------------------------------------------------------------------------------

grpc::Status CoordinatorService::Register(grpc::ServerContext*, const v1::RegisterRequest* request,
                                          v1::RegisterResponse* response) {
  return Handle(metrics_, "Register", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(WorkerInfo w, registry_.Register(request->role(), request->name(), request->address(),
                                                          request->metrics_port(), request->pid()));
    response->set_worker_id(w.worker_id);
    response->set_heartbeat_interval_ms(heartbeat_interval_.count());
    return absl::OkStatus();
  });
}

grpc::Status CoordinatorService::Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest* request,
                                           v1::HeartbeatResponse* response) {
  return Handle(metrics_, "Heartbeat", [&]() -> absl::Status {
    response->set_known(registry_.Heartbeat(request->worker_id()));
    response->set_shutdown(registry_.shutdown());
    return absl::OkStatus();
  });
}

void CoordinatorService::FillStatus(v1::RunStatus* status) const {
  *status = control_.Snapshot();
  status->set_run_dir(run_dir_);
  for (const WorkerInfo& w : registry_.Workers()) {
    v1::WorkerStatus* out = status->add_workers();
    out->set_worker_id(w.worker_id);
    out->set_role(w.role);
    out->set_name(w.name);
    out->set_address(w.address);
    out->set_metrics_port(w.metrics_port);
    out->set_pid(w.pid);
    out->set_alive(registry_.IsAlive(w));
    out->set_seconds_since_heartbeat(SecondsSince(w.last_heartbeat));
    out->set_registered_seconds_ago(SecondsSince(w.registered));
  }
}

grpc::Status CoordinatorService::Answer(const char* method, void (RunControl::*command)(), v1::RunStatus* response) {
  return Handle(metrics_, method, [&]() -> absl::Status {
    if (command != nullptr) (control_.*command)();
    FillStatus(response);
    return absl::OkStatus();
  });
}

grpc::Status CoordinatorService::GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*, v1::RunStatus* response) {
  return Answer("GetStatus", nullptr, response);
}

grpc::Status CoordinatorService::Pause(grpc::ServerContext*, const v1::ControlRequest*, v1::RunStatus* response) {
  return Answer("Pause", &RunControl::Pause, response);
}

grpc::Status CoordinatorService::Resume(grpc::ServerContext*, const v1::ControlRequest*, v1::RunStatus* response) {
  return Answer("Resume", &RunControl::Resume, response);
}

grpc::Status CoordinatorService::Stop(grpc::ServerContext*, const v1::ControlRequest*, v1::RunStatus* response) {
  return Answer("Stop", &RunControl::Stop, response);
}

}  // namespace rto
