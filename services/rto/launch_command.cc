// `rto launch` and `rto coordinator`: the command lines of the distributed run
// (services/coordinator/distributed_run.h).
//
// `rto launch --config FILE [--set key=value ...] [--resume]` also starts every role as its own
// process on loopback (rto-learner, rto-critic, rto-scorer x M, rto-rollout x N, next to this
// binary) with its log in <out>/logs/, starts a new rollout worker when one dies, and stops the
// run with the failing service's log tail when any other service dies, or on Ctrl-C.
//
// Unless the config says security.plaintext, the run's gRPC is TLS with tokens: `rto launch`
// makes the credentials in <out>/security/ (common/security/pki.h).
//
// `rto coordinator --config FILE [--set ...] [--resume] [--host H] [--port P] [--metrics-port P]
// [--metrics-host H] [--health-port P] [--advertise HOST]` starts nothing: workers started elsewhere (docker-compose,
// Kubernetes) register with it, given `--coordinator HOST:PORT`.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "common/actors/rto_job.h"
#include "common/config/config.h"
#include "common/runtime/threads.h"
#include "common/security/pki.h"
#include "common/security/policy.h"
#include "common/util/args.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "services/coordinator/distributed_run.h"
#include "services/coordinator/local_processes.h"
#include "services/coordinator/worker_agent.h"
#include "services/rto/commands.h"

namespace rto {
namespace {

namespace fs = std::filesystem;

// The names the run's certificates are valid for: loopback, and the launch host with the
// address workers advertise when it is a wildcard.
std::vector<std::string> CertificateHosts(const std::string& host) {
  std::vector<std::string> hosts = {"localhost", "127.0.0.1"};
  for (const std::string& h : {host, ReachableHost(host)}) {
    if (h != "0.0.0.0" && h != "::" && std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
  }
  return hosts;
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
  const RtoJobConfig::Launch& l = job.cfg.launch;
  // Every service reads the resolved config, so all of them see exactly this run's settings.
  const std::string service_config = job.cfg.out + "/logs/services.yaml";
  RTO_RETURN_IF_ERROR(WriteFileAtomically(service_config, job.resolved));
  const std::string bin_dir = fs::read_symlink("/proc/self/exe").parent_path().string();
  // Unless the config brings its own (or opts out), the run gets throwaway credentials: a CA, a
  // certificate, key and token per principal, valid for this run only.
  std::string security_dir;
  if (!job.cfg.security.plaintext && job.cfg.security.dir.empty()) {
    security_dir = fs::absolute(job.cfg.out + "/security").string();
    RTO_RETURN_IF_ERROR(MakeRunPki(security_dir, {.principals = RunPrincipals(), .hosts = CertificateHosts(l.host)}));
    job.cfg.security.dir = security_dir + "/coordinator";
    std::cerr << "launch: made this run's TLS certificates and tokens in " << security_dir << "\n";
  } else if (!job.cfg.security.plaintext) {
    return absl::InvalidArgumentError(
        "rto launch makes its run's credentials itself: leave security.dir empty (or set security.plaintext: true)");
  }
  LocalProcesses::StopChildrenOnSignal();
  // The cores are divided among the processes that compute; this coordinator takes a share too.
  const int processes =
      static_cast<int>(l.learner_ranks + l.scorer_replicas + l.rollout_workers +
                       (job.cfg.coordinator.estimator == AdvantageEstimator::kGae ? l.critic_ranks : 0));
  const int threads = job.threads.intra_op > 0 ? 0 : CoresPerProcess(AvailableCores(), processes);
  std::cerr << "launch: " << processes << " services, " << ApplyThreadPlan(job.threads, processes)
            << " intra-op threads each\n";
  LocalProcesses local({.bin_dir = bin_dir,
                        .config_path = fs::absolute(service_config).string(),
                        .log_dir = job.cfg.out + "/logs",
                        .host = l.host,
                        .threads = threads,
                        .security_dir = security_dir,
                        .max_restarts = static_cast<int>(l.max_restarts),
                        .restart_window = std::chrono::seconds(static_cast<int64_t>(l.restart_window_s))});
  RTO_RETURN_IF_ERROR(RunDistributed(job.cfg, job.resolved, job.resume, {.host = l.host}, &local));
  local.StopAll();
  std::cerr << "launch: done; logs in " << job.cfg.out << "/logs\n";
  return absl::OkStatus();
}

absl::Status ServeCoordinator(const std::vector<std::string>& argv) {
  RTO_ASSIGN_OR_RETURN(
      Args args,
      Args::Parse(argv, {"config", "set", "host", "port", "metrics-port", "metrics-host", "health-port", "advertise"},
                  {"resume"}));
  RTO_ASSIGN_OR_RETURN(Job job, ReadJob(args));
  CoordinatorEndpoint endpoint;
  endpoint.host = args.GetString("host", job.cfg.launch.host);
  RTO_ASSIGN_OR_RETURN(int64_t port, args.GetInt("port", 0));
  RTO_ASSIGN_OR_RETURN(int64_t metrics_port, args.GetInt("metrics-port", 0));
  endpoint.port = static_cast<int>(port);
  endpoint.metrics_port = static_cast<int>(metrics_port);
  endpoint.metrics_host = args.GetString("metrics-host", endpoint.host);
  RTO_ASSIGN_OR_RETURN(int64_t health_port, args.GetInt("health-port", -1));
  endpoint.health_port = static_cast<int>(health_port);
  endpoint.advertise = args.GetString("advertise", "");
  ApplyThreadPlan(job.threads);
  return RunDistributed(job.cfg, job.resolved, job.resume, endpoint, nullptr);
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
