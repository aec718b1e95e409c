// `rto launch --config FILE [--set key=value ...] [--resume]`: the distributed run on one machine.
// Every role runs as its own process on loopback (rto-learner, rto-critic, rto-scorer x M,
// rto-rollout x N, next to this binary), each with its log in <out>/logs/; this process waits
// for them to be healthy, runs the coordinator's loop over gRPC clients of the same role
// interfaces, and shuts everything down: on completion, on Ctrl-C, and when a service dies (the
// error then carries that service's log tail). A dead rollout worker is replaced instead, when
// launch.restart_workers is on (the default): the run goes on with the same numbers.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/actors/rto_job.h"
#include "common/config/config.h"
#include "common/rpc/clients.h"
#include "common/rpc/metrics.h"
#include "common/util/args.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "services/rto/commands.h"

namespace rto {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Children, for the signal handler (which may only call async-signal-safe functions).
constexpr int kMaxChildren = 256;
pid_t g_children[kMaxChildren];
volatile std::sig_atomic_t g_num_children = 0;

void OnInterrupt(int sig) {
  for (int i = 0; i < g_num_children; ++i) kill(g_children[i], SIGTERM);
  _exit(128 + sig);
}

struct Service {
  std::string name, role, log, ready;
  pid_t pid = -1;
  int port = 0, metrics_port = 0;
  bool exited = false;
  int status = 0;
};

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

class Launcher {
 public:
  Launcher(const RtoJobConfig& cfg, std::string bin_dir, std::string config_path)
      : cfg_(cfg), bin_dir_(std::move(bin_dir)), config_path_(std::move(config_path)) {}
  ~Launcher() { StopAll(); }

  absl::Status Spawn(const std::string& role, int index) {
    Service s;
    s.role = role;
    s.name = index < 0 ? role : absl::StrCat(role, "-", index);
    s.log = absl::StrCat(cfg_.out, "/logs/", s.name, ".log");
    s.ready = absl::StrCat(cfg_.out, "/logs/", s.name, ".ready");
    services_.push_back(s);
    return Start(services_.back());
  }

  // Starts (or restarts) a service's process.
  absl::Status Start(Service& s) {
    std::error_code ec;
    fs::remove(s.ready, ec);
    const std::string bin = absl::StrCat(bin_dir_, "/rto-", s.role);
    if (!fs::exists(bin)) return absl::NotFoundError(absl::StrCat(bin, " does not exist (build every target)"));
    std::vector<std::string> args = {bin,    "--config", config_path_, "--host", cfg_.launch.host, "--ready-file",
                                     s.ready};
    const pid_t pid = fork();
    if (pid < 0) return absl::InternalError(absl::StrCat("fork failed for ", s.name));
    if (pid == 0) {
      const int fd = open(s.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
      }
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    s.pid = pid;
    s.exited = false;
    if (g_num_children < kMaxChildren) g_children[g_num_children++] = pid;
    return absl::OkStatus();
  }

  // Restarts every rollout worker that exited; returns the indices (among rollout workers).
  absl::StatusOr<std::vector<size_t>> RestartDeadWorkers() {
    std::vector<size_t> restarted;
    std::vector<Service*> workers = Of("rollout");
    for (size_t i = 0; i < workers.size(); ++i) {
      Service& s = *workers[i];
      if (!s.exited && waitpid(s.pid, &s.status, WNOHANG) == s.pid) s.exited = true;
      if (!s.exited) continue;
      std::cerr << "launch: " << s.name << " (pid " << s.pid << ") died; starting a replacement\n";
      RTO_RETURN_IF_ERROR(Start(s));
      RTO_RETURN_IF_ERROR(WaitReady(s));
      restarted.push_back(i);
    }
    return restarted;
  }

  // Waits for every service's ready file, then for its health check.
  absl::Status WaitReady() {
    for (Service& s : services_) RTO_RETURN_IF_ERROR(WaitReady(s));
    return absl::OkStatus();
  }

  absl::Status WaitReady(Service& s) {
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(cfg_.launch.startup_timeout_s * 1000));
    const auto end = Clock::now() + timeout;
    while (!fs::exists(s.ready)) {
      RTO_RETURN_IF_ERROR(CheckAlive());
      if (Clock::now() > end) {
        return absl::DeadlineExceededError(absl::StrCat(s.name, " did not start within ", cfg_.launch.startup_timeout_s,
                                                        " s; the end of ", s.log, ":\n", Tail(s.log, 20)));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    RTO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(s.ready));
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("port") || !j.contains("metrics_port")) {
      return absl::InternalError(absl::StrCat(s.ready, ": not a ready file"));
    }
    s.port = j["port"].get<int>();
    s.metrics_port = j["metrics_port"].get<int>();
    RTO_RETURN_IF_ERROR(WaitHealthy(Connect(Address(s), ClientOptions()), s.name, timeout));
    std::cerr << "launch: " << s.name << " (pid " << s.pid << ") serving on port " << s.port << ", metrics on port "
              << s.metrics_port << "\n";
    return absl::OkStatus();
  }

  // An error naming every service that exited, with its log tail.
  absl::Status CheckAlive() {
    std::string dead;
    for (Service& s : services_) {
      if (!s.exited && waitpid(s.pid, &s.status, WNOHANG) == s.pid) s.exited = true;
      if (s.exited) {
        dead += absl::StrCat(s.name, " (pid ", s.pid, ") exited with status ",
                             WIFEXITED(s.status) ? WEXITSTATUS(s.status) : 128 + WTERMSIG(s.status), "; the end of ",
                             s.log, ":\n", Tail(s.log, 20));
      }
    }
    if (dead.empty()) return absl::OkStatus();
    return absl::UnavailableError("a service died: " + dead);
  }

  void StopAll() {
    for (Service& s : services_) {
      if (!s.exited) kill(s.pid, SIGTERM);
    }
    const auto end = Clock::now() + std::chrono::seconds(10);
    for (Service& s : services_) {
      while (!s.exited) {
        if (waitpid(s.pid, &s.status, WNOHANG) == s.pid) {
          s.exited = true;
        } else if (Clock::now() > end) {
          kill(s.pid, SIGKILL);
          waitpid(s.pid, &s.status, 0);
          s.exited = true;
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    }
    g_num_children = 0;
  }

  std::string Address(const Service& s) const { return absl::StrCat(cfg_.launch.host, ":", s.port); }
  std::vector<Service*> Of(const std::string& role) {
    std::vector<Service*> out;
    for (Service& s : services_) {
      if (s.role == role) out.push_back(&s);
    }
    return out;
  }

 private:
  RtoJobConfig cfg_;
  std::string bin_dir_, config_path_;
  std::vector<Service> services_;
};

absl::Status Launch(const std::vector<std::string>& argv) {
  RTO_ASSIGN_OR_RETURN(Args args, Args::Parse(argv, {"config", "set"}, {"resume"}));
  RTO_ASSIGN_OR_RETURN(std::string path, args.GetRequired("config"));
  RTO_ASSIGN_OR_RETURN(ConfigReader reader, ConfigReader::Load(path, args.GetAll("set")));
  RtoJobConfig cfg;
  RTO_RETURN_IF_ERROR(cfg.Read(reader));
  cfg.coordinator.parallel_roles = true;  // each role has its own process
  const std::string resolved = reader.Resolved();
  std::cout << "resolved config:\n" << resolved;
  const bool resume = args.Has("resume");

  // Every service reads the resolved config, so all of them see exactly this run's settings.
  fs::create_directories(cfg.out + "/logs");
  const std::string service_config = cfg.out + "/logs/services.yaml";
  RTO_RETURN_IF_ERROR(WriteFileAtomically(service_config, resolved));
  const std::string bin_dir = fs::read_symlink("/proc/self/exe").parent_path().string();

  std::signal(SIGINT, OnInterrupt);
  std::signal(SIGTERM, OnInterrupt);
  Launcher launcher(cfg, bin_dir, fs::absolute(service_config).string());
  const bool with_critic = cfg.coordinator.estimator == AdvantageEstimator::kGae;
  RTO_RETURN_IF_ERROR(launcher.Spawn("learner", -1));
  if (with_critic) RTO_RETURN_IF_ERROR(launcher.Spawn("critic", -1));
  for (int i = 0; i < cfg.launch.scorer_replicas; ++i) RTO_RETURN_IF_ERROR(launcher.Spawn("scorer", i));
  for (int i = 0; i < cfg.launch.rollout_workers; ++i) RTO_RETURN_IF_ERROR(launcher.Spawn("rollout", i));
  RTO_RETURN_IF_ERROR(launcher.WaitReady());

  ClientOptions client;
  client.deadline = std::chrono::milliseconds(static_cast<int64_t>(cfg.launch.rpc_deadline_s * 1000));
  client.max_message_bytes = cfg.launch.max_message_mb << 20;
  WeightGroupOptions group;
  group.store_host = cfg.launch.host;
  group.timeout = std::chrono::milliseconds(static_cast<int64_t>(cfg.launch.weight_sync_timeout_s * 1000));
  group.bucket_bytes = cfg.launch.bucket_mb << 20;
  auto plan = std::make_shared<WeightPlan>(group);
  RTO_ASSIGN_OR_RETURN(
      auto learner, RemoteLearner::Create(Connect(launcher.Address(*launcher.Of("learner")[0]), client), client, plan));
  plan->set_store_port(learner->store_port());
  plan->Reform(1 + static_cast<int>(cfg.launch.rollout_workers));
  std::vector<std::unique_ptr<RemoteRollout>> rollouts;
  int rank = 1;
  for (Service* s : launcher.Of("rollout")) {
    rollouts.push_back(std::make_unique<RemoteRollout>(Connect(launcher.Address(*s), client), client, plan, rank++));
  }
  RolloutPool rollout(std::move(rollouts));
  std::vector<std::unique_ptr<Scorer>> scorers;
  for (Service* s : launcher.Of("scorer")) {
    scorers.push_back(std::make_unique<RemoteScorer>(Connect(launcher.Address(*s), client), client));
  }
  ScorerPool scorer(std::move(scorers));
  std::unique_ptr<RemoteCritic> critic;
  if (with_critic)
    critic = std::make_unique<RemoteCritic>(Connect(launcher.Address(*launcher.Of("critic")[0]), client), client);

  RTO_ASSIGN_OR_RETURN(std::unique_ptr<ServiceMetrics> metrics,
                       ServiceMetrics::Start("coordinator", cfg.launch.host, 0));
  std::cerr << "launch: coordinator metrics on port " << metrics->port() << "\n";
  RTO_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, LoadTokenizer(cfg.models.policy));
  absl::Status run = [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(auto coordinator, MakeCoordinator(cfg, {&rollout, &scorer, critic.get(), learner.get()},
                                                           *tokenizer, resolved, resume));
    if (cfg.launch.restart_workers) {
      // A dead rollout worker is replaced without restarting the run: a new process, a new client,
      // and a new weight-group generation that brings it the current weights.
      coordinator->set_rollout_recovery([&]() -> absl::Status {
        RTO_ASSIGN_OR_RETURN(std::vector<size_t> restarted, launcher.RestartDeadWorkers());
        if (restarted.empty()) return absl::UnavailableError("the rollout failed but no worker died");
        std::vector<Service*> workers = launcher.Of("rollout");
        for (size_t i : restarted) {
          rollout.Replace(i, std::make_unique<RemoteRollout>(Connect(launcher.Address(*workers[i]), client), client,
                                                             plan, static_cast<int>(i) + 1));
        }
        plan->Reform(1 + static_cast<int>(workers.size()));
        metrics->Counter("worker_restarts_total", "rollout workers replaced").Increment(restarted.size());
        return absl::OkStatus();
      });
    }
    coordinator->set_step_observer([&](const Metrics& m) {
      for (const auto& [key, value] : m) {
        metrics->Gauge(absl::StrReplaceAll(key, {{"/", "_"}, {"+", "p"}}), "the coordinator's step metric " + key)
            .Set(value);
      }
      metrics->Counter("steps_total", "RL steps completed").Increment();
    });
    return coordinator->Run();
  }();
  if (!run.ok()) {
    // A dead service explains the failure better than the RPC error it caused.
    if (absl::Status alive = launcher.CheckAlive(); !alive.ok()) {
      return absl::Status(alive.code(), absl::StrCat(run.message(), "\n", alive.message()));
    }
    return run;
  }
  // After the last sync every worker must hold exactly the learner's weights.
  RTO_ASSIGN_OR_RETURN(v1::WeightsHashResponse reference, learner->WeightsHash());
  for (size_t i = 0; i < rollout.workers().size(); ++i) {
    RTO_ASSIGN_OR_RETURN(v1::WeightsHashResponse worker, rollout.workers()[i]->WeightsHash());
    if (worker.hash() != reference.hash() || worker.version() != reference.version()) {
      return absl::InternalError(absl::StrCat("rollout-", i, " holds weights ", worker.hash(), " (version ",
                                              worker.version(), ") but the learner ", reference.hash(), " (version ",
                                              reference.version(), ")"));
    }
  }
  std::cerr << "launch: weights verified: the learner and " << rollout.workers().size()
            << " rollout workers hold version " << reference.version() << " (hash " << std::hex << reference.hash()
            << std::dec << ")\n";
  launcher.StopAll();
  std::cerr << "launch: done; logs in " << cfg.out << "/logs\n";
  return absl::OkStatus();
}

}  // namespace

int LaunchCommand(const std::vector<std::string>& args) {
  absl::Status s = Launch(args);
  if (s.ok()) return 0;
  std::cerr << "rto launch: error: " << s.message() << "\n";
  return 1;
}

}  // namespace rto
