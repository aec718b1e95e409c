// `rto launch` and `rto coordinator`: the distributed run.
//
// The coordinator serves the control plane (proto/rto/v1/coordinator.proto): every role's server
// registers with it and heartbeats. It waits for one learner, one critic (GAE), M scorers and N
// rollout workers, runs the coordinator's loop over gRPC clients of the same role interfaces,
// answers status / pause / resume / stop (`rto ctl`), replaces a rollout worker that dies with
// the next one that registers, and at the end tells the workers to exit.
//
// `rto launch --config FILE [--set key=value ...] [--resume]` also starts every role as its own
// process on loopback (rto-learner, rto-critic, rto-scorer x M, rto-rollout x N, next to this
// binary) with its log in <out>/logs/, starts a new rollout worker when one dies, and stops the
// run with the failing service's log tail when any other service dies, or on Ctrl-C.
//
// `rto coordinator --config FILE [--set ...] [--resume] [--host H] [--port P] [--metrics-port P]
// [--advertise HOST]` starts nothing: workers started elsewhere (docker-compose, Kubernetes)
// register with it, given `--coordinator HOST:PORT`.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string_view>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/actors/rto_job.h"
#include "common/config/config.h"
#include "common/rpc/metrics.h"
#include "common/rpc/server.h"
#include "common/runtime/threads.h"
#include "common/util/args.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "services/coordinator/control_plane.h"
#include "services/coordinator/worker_agent.h"
#include "services/critic/critic_client.h"
#include "services/learner/learner_client.h"
#include "services/rollout/rollout_client.h"
#include "services/rto/commands.h"
#include "services/scorer/scorer_client.h"

namespace rto {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

// Children, for the signal handler (which may only call async-signal-safe functions).
constexpr int kMaxChildren = 256;
pid_t g_children[kMaxChildren];
volatile std::sig_atomic_t g_num_children = 0;

void OnInterrupt(int sig) {
  for (int i = 0; i < g_num_children; ++i) kill(g_children[i], SIGTERM);
  _exit(128 + sig);
}

std::string Tail(const std::string& path, int lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0; i < all.size(); ++i) {
    out += "  | " + all[i] + "\n";
  }
  return out;
}

// The services `rto launch` runs as processes on this machine.
class LocalProcesses {
 public:
  // threads > 0 overrides every service's threads.intra_op (its share of this machine's cores).
  LocalProcesses(std::string bin_dir, std::string config_path, std::string log_dir, std::string host, int threads)
      : bin_dir_(std::move(bin_dir)),
        config_path_(std::move(config_path)),
        log_dir_(std::move(log_dir)),
        host_(std::move(host)),
        threads_(threads) {}
  ~LocalProcesses() { StopAll(); }

  // Starts rto-<role> named <role>[-<index>], registering with the coordinator at `coordinator`.
  absl::Status Spawn(const std::string& role, int index, const std::string& coordinator) {
    Process p;
    p.role = role;
    p.name = index < 0 ? role : absl::StrCat(role, "-", index);
    p.log = absl::StrCat(log_dir_, "/", p.name, ".log");
    p.coordinator = coordinator;
    processes_.push_back(p);
    return Start(processes_.back());
  }

  // Starts a new process for every `role` process that exited; returns their names.
  absl::StatusOr<std::vector<std::string>> RestartExited(const std::string& role) {
    std::vector<std::string> restarted;
    for (Process& p : processes_) {
      if (p.role != role || !Exited(p)) continue;
      std::cerr << "launch: " << p.name << " (pid " << p.pid << ") died; starting a replacement\n";
      RTO_RETURN_IF_ERROR(Start(p));
      restarted.push_back(p.name);
    }
    return restarted;
  }

  // An error naming every process that exited, with its log tail.
  absl::Status CheckAlive() {
    std::string dead;
    for (Process& p : processes_) {
      if (!Exited(p)) continue;
      dead += absl::StrCat(p.name, " (pid ", p.pid, ") exited with status ",
                           WIFEXITED(p.status) ? WEXITSTATUS(p.status) : 128 + WTERMSIG(p.status), "; the end of ",
                           p.log, ":\n", Tail(p.log, 20));
    }
    if (dead.empty()) return absl::OkStatus();
    return absl::UnavailableError("a service died: " + dead);
  }

  void StopAll() {
    for (Process& p : processes_) {
      if (!p.exited) kill(p.pid, SIGTERM);
    }
    const auto end = Clock::now() + std::chrono::seconds(10);
    for (Process& p : processes_) {
      while (!Exited(p)) {
        if (Clock::now() > end) {
          kill(p.pid, SIGKILL);
          waitpid(p.pid, &p.status, 0);
          p.exited = true;
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    }
    g_num_children = 0;
  }

 private:
  struct Process {
    std::string name, role, log, coordinator;
    pid_t pid = -1;
    bool exited = false;
    int status = 0;
  };

  bool Exited(Process& p) {
    if (!p.exited && waitpid(p.pid, &p.status, WNOHANG) == p.pid) p.exited = true;
    return p.exited;
  }

  absl::Status Start(Process& p) {
    const std::string bin = absl::StrCat(bin_dir_, "/rto-", p.role);
    if (!fs::exists(bin)) return absl::NotFoundError(absl::StrCat(bin, " does not exist (build every target)"));
    std::vector<std::string> args = {bin,      "--config", config_path_,    "--host",     host_,
                                     "--name", p.name,     "--coordinator", p.coordinator};
    // This process's environment, and OMP_NUM_THREADS when the launcher sets the count: OpenMP
    // reads it when LibTorch loads, before the service applies its plan.
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (threads_ == 0 || std::string_view(*e).rfind("OMP_NUM_THREADS=", 0) != 0) env.emplace_back(*e);
    }
    if (threads_ > 0) {
      args.push_back("--set");
      args.push_back(absl::StrCat("threads.intra_op=", threads_));
      env.push_back(absl::StrCat("OMP_NUM_THREADS=", threads_));
    }
    // Everything the child needs is made before fork: between fork and exec it may only call
    // async-signal-safe functions (another thread of this process may hold malloc's lock).
    std::vector<char*> argv, envp;
    for (std::string& a : args) argv.push_back(a.data());
    for (std::string& e : env) envp.push_back(e.data());
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) return absl::InternalError(absl::StrCat("fork failed for ", p.name));
    if (pid == 0) {
      const int fd = open(p.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
      }
      execve(bin.c_str(), argv.data(), envp.data());
      _exit(127);
    }
    p.pid = pid;
    p.exited = false;
    if (g_num_children < kMaxChildren) g_children[g_num_children++] = pid;
    return absl::OkStatus();
  }

  std::string bin_dir_, config_path_, log_dir_, host_;
  int threads_;
  std::vector<Process> processes_;
};

struct Endpoint {
  std::string host = "127.0.0.1";  // to bind
  int port = 0, metrics_port = 0;  // 0: free ports
  std::string advertise;           // the host workers reach the coordinator at (default: host)
};

// The host part of host:port.
std::string HostOf(const std::string& address) { return address.substr(0, address.rfind(':')); }

// The run, driven over the workers that register. `local`, when given, runs on this machine.
absl::Status RunCoordinator(const RtoJobConfig& cfg, const std::string& resolved, bool resume, const Endpoint& endpoint,
                            LocalProcesses* local) {
  RTO_ASSIGN_OR_RETURN(std::unique_ptr<ServiceMetrics> metrics,
                       ServiceMetrics::Start("coordinator", endpoint.host, endpoint.metrics_port));
  WorkerRegistry registry(Millis(cfg.launch.heartbeat_timeout_s));
  RunControl control;
  CoordinatorService service(registry, control, Millis(cfg.launch.heartbeat_s), cfg.out, metrics.get());
  int port = 0;
  RTO_ASSIGN_OR_RETURN(
      std::unique_ptr<grpc::Server> server,
      StartServer({&service},
                  {.host = endpoint.host, .port = endpoint.port, .max_message_bytes = cfg.launch.max_message_mb << 20},
                  &port));
  const std::string address = absl::StrCat(endpoint.advertise.empty() ? endpoint.host : endpoint.advertise, ":", port);
  // Where `rto ctl --run DIR` finds this coordinator.
  nlohmann::json where = {{"address", address}, {"port", port}, {"metrics_port", metrics->port()}};
  RTO_RETURN_IF_ERROR(WriteFileAtomically(cfg.out + "/logs/coordinator.json", where.dump() + "\n"));
  std::cerr << "coordinator: serving on " << address << ", metrics on port " << metrics->port() << "\n";

  const bool with_critic = cfg.coordinator.estimator == AdvantageEstimator::kGae;
  if (local != nullptr) {
    RTO_RETURN_IF_ERROR(local->Spawn("learner", -1, address));
    if (with_critic) RTO_RETURN_IF_ERROR(local->Spawn("critic", -1, address));
    for (int i = 0; i < cfg.launch.scorer_replicas; ++i) RTO_RETURN_IF_ERROR(local->Spawn("scorer", i, address));
    for (int i = 0; i < cfg.launch.rollout_workers; ++i) RTO_RETURN_IF_ERROR(local->Spawn("rollout", i, address));
  }
  // While waiting for workers: a local service that died, or a stop request, ends the wait.
  auto check = [&]() -> absl::Status {
    if (local != nullptr) RTO_RETURN_IF_ERROR(local->CheckAlive());
    if (control.stop_requested()) return absl::CancelledError("stopped while waiting for workers");
    return absl::OkStatus();
  };
  std::map<std::string, int> counts = {{"learner", 1},
                                       {"scorer", static_cast<int>(cfg.launch.scorer_replicas)},
                                       {"rollout", static_cast<int>(cfg.launch.rollout_workers)}};
  if (with_critic) counts["critic"] = 1;
  RTO_ASSIGN_OR_RETURN(auto workers, registry.WaitFor(counts, Millis(cfg.launch.startup_timeout_s), check));
  for (const auto& [role, list] : workers) {
    for (const WorkerInfo& w : list) std::cerr << "coordinator: " << w.name << " at " << w.address << "\n";
  }

  ClientOptions client;
  client.deadline = Millis(cfg.launch.rpc_deadline_s);
  client.max_message_bytes = cfg.launch.max_message_mb << 20;
  WeightGroupOptions group;
  group.store_host = HostOf(workers["learner"][0].address);
  group.timeout = Millis(cfg.launch.weight_sync_timeout_s);
  group.bucket_bytes = cfg.launch.bucket_mb << 20;
  group.shared_memory = cfg.launch.weight_transport == "auto";
  auto plan = std::make_shared<WeightPlan>(group);
  RTO_ASSIGN_OR_RETURN(auto learner,
                       RemoteLearner::Create(Connect(workers["learner"][0].address, client), client, plan));
  plan->set_store_port(learner->store_port());
  plan->Reform(1 + static_cast<int>(cfg.launch.rollout_workers));
  std::vector<WorkerInfo> rollout_slots = workers["rollout"];
  std::vector<std::unique_ptr<RemoteRollout>> rollouts;
  for (size_t i = 0; i < rollout_slots.size(); ++i) {
    rollouts.push_back(std::make_unique<RemoteRollout>(Connect(rollout_slots[i].address, client), client, plan,
                                                       static_cast<int>(i) + 1));
  }
  RolloutPool rollout(std::move(rollouts));
  std::vector<std::unique_ptr<Scorer>> scorers;
  for (const WorkerInfo& w : workers["scorer"]) {
    scorers.push_back(std::make_unique<RemoteScorer>(Connect(w.address, client), client));
  }
  ScorerPool scorer(std::move(scorers));
  std::unique_ptr<RemoteCritic> critic;
  if (with_critic) critic = std::make_unique<RemoteCritic>(Connect(workers["critic"][0].address, client), client);

  // Counters exist from the start, so that dashboards show a zero rather than no data.
  prometheus::Counter& steps_total = metrics->Counter("steps_total", "RL steps completed");
  prometheus::Counter& restarts_total = metrics->Counter("worker_restarts_total", "rollout workers replaced");
  RTO_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, LoadTokenizer(cfg.models.policy));
  absl::Status run = [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(auto coordinator, MakeCoordinator(cfg, {&rollout, &scorer, critic.get(), learner.get()},
                                                           *tokenizer, resolved, resume));
    if (cfg.launch.restart_workers) {
      // A rollout worker that stopped answering gives its slot to the next rollout worker that
      // registers (under `rto launch`, a new process this launcher starts); a new weight-group
      // generation brings it the current weights.
      coordinator->set_rollout_recovery([&]() -> absl::Status {
        if (local != nullptr) RTO_RETURN_IF_ERROR(local->RestartExited("rollout").status());
        std::set<std::string> taken;
        std::vector<size_t> lost;
        for (size_t i = 0; i < rollout_slots.size(); ++i) {
          taken.insert(rollout_slots[i].worker_id);
          const bool answers =
              registry.IsAlive(rollout_slots[i]) &&
              WaitHealthy(Connect(rollout_slots[i].address, client), rollout_slots[i].name, std::chrono::seconds(2))
                  .ok();
          if (!answers) lost.push_back(i);
        }
        if (lost.empty()) return absl::UnavailableError("the rollout failed but every worker answers");
        for (size_t i : lost) {
          std::cerr << "coordinator: " << rollout_slots[i].name << " is lost; waiting for a replacement\n";
          RTO_ASSIGN_OR_RETURN(WorkerInfo w,
                               registry.WaitForNew("rollout", taken, Millis(cfg.launch.startup_timeout_s), check));
          std::cerr << "coordinator: " << w.name << " at " << w.address << " takes its place\n";
          taken.insert(w.worker_id);
          rollout_slots[i] = w;
          rollout.Replace(
              i, std::make_unique<RemoteRollout>(Connect(w.address, client), client, plan, static_cast<int>(i) + 1));
        }
        plan->Reform(1 + static_cast<int>(rollout_slots.size()));
        restarts_total.Increment(lost.size());
        return absl::OkStatus();
      });
    }
    coordinator->set_step_observer([&](const Metrics& m) {
      for (const auto& [key, value] : m) {
        metrics->Gauge(absl::StrReplaceAll(key, {{"/", "_"}, {"+", "p"}}), "the coordinator's step metric " + key)
            .Set(value);
      }
      steps_total.Increment();
      control.Progress(coordinator->step(), learner->version(), m);
    });
    coordinator->set_between_steps([&] { return control.BetweenSteps(); });
    control.Start(coordinator->step(), cfg.coordinator.steps);
    RTO_RETURN_IF_ERROR(coordinator->Run());
    // After the last sync every worker must hold exactly the learner's weights.
    RTO_ASSIGN_OR_RETURN(v1::WeightsHashResponse reference, learner->WeightsHash());
    for (size_t i = 0; i < rollout.workers().size(); ++i) {
      RTO_ASSIGN_OR_RETURN(v1::WeightsHashResponse worker, rollout.workers()[i]->WeightsHash());
      if (worker.hash() != reference.hash() || worker.version() != reference.version()) {
        return absl::InternalError(absl::StrCat(rollout_slots[i].name, " holds weights ", worker.hash(), " (version ",
                                                worker.version(), ") but the learner ", reference.hash(), " (version ",
                                                reference.version(), ")"));
      }
    }
    std::cerr << "coordinator: weights verified: the learner and " << rollout.workers().size()
              << " rollout workers hold version " << reference.version() << " (hash " << std::hex << reference.hash()
              << std::dec << ")\n";
    return absl::OkStatus();
  }();
  control.End(run);
  if (!run.ok()) {
    // A dead service explains the failure better than the RPC error it caused.
    if (local != nullptr) {
      if (absl::Status alive = local->CheckAlive(); !alive.ok()) {
        return absl::Status(alive.code(), absl::StrCat(run.message(), "\n", alive.message()));
      }
    }
    return run;
  }
  // Workers learn from their next heartbeat that the run is over and exit.
  registry.set_shutdown();
  if (local == nullptr) std::this_thread::sleep_for(2 * Millis(cfg.launch.heartbeat_s));
  return absl::OkStatus();
}

struct Job {
  RtoJobConfig cfg;
  ThreadPlan threads;
  std::string resolved;
  bool resume = false;
};

absl::StatusOr<Job> ReadJob(const Args& args) {
  Job job;
  RTO_ASSIGN_OR_RETURN(std::string path, args.GetRequired("config"));
  RTO_ASSIGN_OR_RETURN(ConfigReader reader, ConfigReader::Load(path, args.GetAll("set")));
  RTO_RETURN_IF_ERROR(ReadThreadPlan(reader, &job.threads));
  RTO_RETURN_IF_ERROR(job.cfg.Read(reader));
  job.cfg.coordinator.parallel_roles = true;  // each role has its own process
  job.resolved = reader.Resolved();
  job.resume = args.Has("resume");
  std::cout << "resolved config:\n" << job.resolved;
  fs::create_directories(job.cfg.out + "/logs");
  return job;
}

absl::Status Launch(const std::vector<std::string>& argv) {
  RTO_ASSIGN_OR_RETURN(Args args, Args::Parse(argv, {"config", "set"}, {"resume"}));
  RTO_ASSIGN_OR_RETURN(Job job, ReadJob(args));
  // Every service reads the resolved config, so all of them see exactly this run's settings.
  const std::string service_config = job.cfg.out + "/logs/services.yaml";
  RTO_RETURN_IF_ERROR(WriteFileAtomically(service_config, job.resolved));
  const std::string bin_dir = fs::read_symlink("/proc/self/exe").parent_path().string();
  std::signal(SIGINT, OnInterrupt);
  std::signal(SIGTERM, OnInterrupt);
  // The cores are divided among the processes that compute; this coordinator takes a share too.
  const RtoJobConfig::Launch& l = job.cfg.launch;
  const int processes = static_cast<int>(1 + l.scorer_replicas + l.rollout_workers +
                                         (job.cfg.coordinator.estimator == AdvantageEstimator::kGae ? 1 : 0));
  const int threads = job.threads.intra_op > 0 ? 0 : CoresPerProcess(AvailableCores(), processes);
  std::cerr << "launch: " << processes << " services, " << ApplyThreadPlan(job.threads, processes)
            << " intra-op threads each\n";
  LocalProcesses local(bin_dir, fs::absolute(service_config).string(), job.cfg.out + "/logs", l.host, threads);
  RTO_RETURN_IF_ERROR(RunCoordinator(job.cfg, job.resolved, job.resume, {.host = job.cfg.launch.host}, &local));
  local.StopAll();
  std::cerr << "launch: done; logs in " << job.cfg.out << "/logs\n";
  return absl::OkStatus();
}

absl::Status ServeCoordinator(const std::vector<std::string>& argv) {
  RTO_ASSIGN_OR_RETURN(Args args,
                       Args::Parse(argv, {"config", "set", "host", "port", "metrics-port", "advertise"}, {"resume"}));
  RTO_ASSIGN_OR_RETURN(Job job, ReadJob(args));
  Endpoint endpoint;
  endpoint.host = args.GetString("host", job.cfg.launch.host);
  RTO_ASSIGN_OR_RETURN(int64_t port, args.GetInt("port", 0));
  RTO_ASSIGN_OR_RETURN(int64_t metrics_port, args.GetInt("metrics-port", 0));
  endpoint.port = static_cast<int>(port);
  endpoint.metrics_port = static_cast<int>(metrics_port);
  endpoint.advertise = args.GetString("advertise", "");
  ApplyThreadPlan(job.threads);
  return RunCoordinator(job.cfg, job.resolved, job.resume, endpoint, nullptr);
}

}  // namespace

int LaunchCommand(const std::vector<std::string>& args) {
  absl::Status s = Launch(args);
  if (s.ok()) return 0;
  std::cerr << "rto launch: error: " << s.message() << "\n";
  return 1;
}

int CoordinatorCommand(const std::vector<std::string>& args) {
  absl::Status s = ServeCoordinator(args);
  if (s.ok()) return 0;
  std::cerr << "rto coordinator: error: " << s.message() << "\n";
  return 1;
}

}  // namespace rto
