#include "services/common/service_main.h"

#include <csignal>
#include <cstdlib>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/substitute.h"
#include "common/config/config.h"
#include "common/runtime/threads.h"
#include "common/util/args.h"
#include "common/util/status_macros.h"
#include "common/util/time.h"
#include "services/coordinator/worker_agent.h"

namespace rto {
namespace {

constexpr absl::string_view kServiceUsage =
    R"(usage: rto-$0 --config rto.yaml [--set key=value ...] [--host H] [--port P]
           [--metrics-port P] [--metrics-host H] [--health-port P] [--coordinator HOST:PORT]
           [--advertise HOST] [--name NAME] [--rank R] [--rendezvous HOST:PORT]
  The $0 role's gRPC server. With --coordinator it registers there (advertising --advertise,
  by default this host's address) and heartbeats until the coordinator ends the run; `rto
  launch` starts it so. --rank and --rendezvous: one of launch.learner_ranks or
  launch.critic_ranks data-parallel processes, meeting at rank 0's store. Its gRPC is TLS
  with tokens from security.dir (README, Security); --health-port serves grpc.health.v1
  Check only, in plaintext, for probes.
)";

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

}  // namespace

absl::StatusOr<ServiceFlags> ParseServiceFlags(const std::string& role, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::cout << absl::Substitute(kServiceUsage, role);
      std::exit(0);  // nothing has started yet
    }
  }
  RTO_ASSIGN_OR_RETURN(Args args,
                       Args::Parse(std::vector<std::string>(argv + 1, argv + argc),
                                   {"config", "set", "host", "port", "metrics-port", "metrics-host", "health-port",
                                    "coordinator", "name", "advertise", "rank", "rendezvous"}));
  ServiceFlags f;
  RTO_ASSIGN_OR_RETURN(std::string path, args.GetRequired("config"));
  f.host = args.GetString("host", f.host);
  RTO_ASSIGN_OR_RETURN(int64_t port, args.GetInt("port", 0));
  RTO_ASSIGN_OR_RETURN(int64_t metrics_port, args.GetInt("metrics-port", 0));
  f.port = static_cast<int>(port);
  f.metrics_port = static_cast<int>(metrics_port);
  f.metrics_host = args.GetString("metrics-host", f.host);
  RTO_ASSIGN_OR_RETURN(int64_t health_port, args.GetInt("health-port", -1));
  f.health_port = static_cast<int>(health_port);
  f.coordinator = args.GetString("coordinator", "");
  f.name = args.GetString("name", "");
  f.advertise = args.GetString("advertise", "");
  if (f.advertise.empty()) f.advertise = ReachableHost(f.host);
  RTO_ASSIGN_OR_RETURN(int64_t rank, args.GetInt("rank", 0));
  if (rank < 0 || rank > 65535) return absl::InvalidArgumentError(absl::StrCat("--rank ", rank, " is not a rank"));
  f.rank = static_cast<int>(rank);
  if (const std::string r = args.GetString("rendezvous", ""); !r.empty()) {
    const size_t colon = r.rfind(':');
    int port = 0;
    if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(r.substr(colon + 1), &port) || port < 0 ||
        port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("--rendezvous '", r, "' is not HOST:PORT"));
    }
    f.rendezvous_host = r.substr(0, colon);
    f.rendezvous_port = port;
  }
  RTO_ASSIGN_OR_RETURN(ConfigReader config, ConfigReader::Load(path, args.GetAll("set")));
  ThreadPlan threads;
  RTO_RETURN_IF_ERROR(ReadThreadPlan(config, &threads));
  RTO_RETURN_IF_ERROR(f.config.Read(config));
  RTO_ASSIGN_OR_RETURN(f.security, TransportSecurity::Load(f.config.security));
  const int intra_op = ApplyThreadPlan(threads);
  std::cerr << "rto-" << role << ": config " << path << ", " << intra_op << " intra-op threads\n"
            << "rto-" << role << ": gRPC: " << f.security->Describe() << "\n";
  return f;
}

absl::StatusOr<std::unique_ptr<ServiceMetrics>> StartMetrics(const std::string& role, const ServiceFlags& flags) {
  RTO_ASSIGN_OR_RETURN(std::string basic_auth, flags.config.security.MetricsBasicAuth());
  return ServiceMetrics::Start(role, flags.metrics_host, flags.metrics_port, basic_auth);
}

ServiceOptions ServiceOptionsOf(const RtoJobConfig& config) { return {.mailbox_capacity = config.launch.mailbox}; }

absl::StatusOr<std::unique_ptr<Rendezvous>> StartRendezvous(const ServiceFlags& flags) {
  // On the address others reach this process at, not every interface --host may bind (0.0.0.0 in
  // a container): the store cannot do TLS.
  return Rendezvous::Start(flags.advertise, flags.rendezvous_port, Millis(flags.config.launch.startup_timeout_s));
}

absl::StatusOr<std::unique_ptr<DataParallelGroup>> JoinDataParallel(const std::string& role, const ServiceFlags& flags,
                                                                    int64_t world_size, Rendezvous* hosted) {
  if (world_size == 1 && flags.rank == 0) return std::unique_ptr<DataParallelGroup>();
  if (flags.rank >= world_size) {
    return absl::InvalidArgumentError(absl::StrCat("--rank ", flags.rank, " but the role has ", world_size, " ranks"));
  }
  if (flags.rendezvous_host.empty() || flags.rendezvous_port == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("a role of ", world_size, " data-parallel ranks needs --rendezvous HOST:PORT (rank 0's store)"));
  }
  RTO_ASSIGN_OR_RETURN(at::Device device, ParseDevice(flags.config.device));
  std::cerr << "data-parallel rank " << flags.rank << " of " << world_size << ": joining via " << flags.rendezvous_host
            << ":" << flags.rendezvous_port << "\n";
  return DataParallelGroup::Join(
      {.name = role,
       .secret = flags.security->DerivedSecret("data-parallel"),
       .host = flags.rendezvous_host,
       .port = flags.rendezvous_port,
       .rank = flags.rank,
       .world_size = static_cast<int>(world_size),
       .cuda_device = device.is_cuda() ? std::max<int>(0, device.index()) : -1,
       // A collective waits for the slowest rank of a train call, as long as the call may take.
       .timeout = Millis(std::max(flags.config.launch.startup_timeout_s, flags.config.launch.rpc_deadline_s))},
      flags.rank == 0 ? hosted : nullptr);
}

int Fail(const std::string& role, const absl::Status& status) {
  std::cerr << "rto-" << role << ": error: " << status.message() << "\n";
  return 1;
}

int Serve(const std::string& role, const ServiceFlags& flags, const std::vector<grpc::Service*>& services,
          ServiceMetrics* metrics) {
  absl::StatusOr<std::unique_ptr<RpcServer>> server =
      StartServer(services, {.host = flags.host,
                             .port = flags.port,
                             .max_message_bytes = flags.config.launch.max_message_mb << 20,
                             .security = flags.security,
                             .health_port = flags.health_port});
  if (!server.ok()) return Fail(role, server.status());
  const int port = (*server)->port();
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::cerr << "rto-" << role << ": serving on " << flags.host << ":" << port << ", metrics on port " << metrics->port()
            << ((*server)->health_port() > 0 ? absl::StrCat(", health checks on port ", (*server)->health_port()) : "")
            << "\n";
  std::unique_ptr<WorkerAgent> agent;
  if (!flags.coordinator.empty()) {
    const std::string address = absl::StrCat(flags.advertise, ":", port);
    agent = std::make_unique<WorkerAgent>(WorkerAgentOptions{
        .coordinator = flags.coordinator,
        .role = role,
        .name = flags.name.empty() ? absl::StrCat(role, "@", address) : flags.name,
        .address = address,
        .metrics_port = metrics->port(),
        .rank = flags.rank,
        .security = flags.security,
        // The coordinator asks for this id's health to tell this process from a restarted one
        // at the same address (a container restarted in place keeps its IP and port).
        .on_registered = [&rpc = **server](const std::string& worker_id) { rpc.SetServing(worker_id); },
    });
  }
  while (!g_stop && !(agent && (agent->shutdown_requested() || !agent->refused().empty()))) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (agent && !agent->refused().empty()) {
    (*server)->Shutdown(std::chrono::system_clock::now());
    return Fail(role, absl::PermissionDeniedError(agent->refused()));
  }
  if (agent && agent->evicted()) {
    // Fail-stop: the actor may be stuck in a call that cannot end (a collective whose peers are
    // gone), so nothing is waited for. EX_TEMPFAIL: a supervisor starts a fresh process.
    std::cerr << "rto-" << role
              << ": the coordinator evicted this worker; exiting for a fresh process to take its place" << std::endl;
    std::_Exit(75);
  }
  std::cerr << "rto-" << role << ": shutting down" << (g_stop ? "" : " (the coordinator finished the run)") << "\n";
  agent.reset();
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return 0;
}

}  // namespace rto
