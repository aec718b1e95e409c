#include "services/common/service_main.h"

#include <csignal>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/config/config.h"
#include "common/runtime/threads.h"
#include "common/util/args.h"
#include "common/util/status_macros.h"
#include "services/coordinator/worker_agent.h"

namespace rto {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

}  // namespace

absl::StatusOr<ServiceFlags> ParseServiceFlags(const std::string& role, int argc, char** argv) {
  RTO_ASSIGN_OR_RETURN(
      Args args, Args::Parse(std::vector<std::string>(argv + 1, argv + argc),
                             {"config", "set", "host", "port", "metrics-port", "coordinator", "name", "advertise"}));
  ServiceFlags f;
  RTO_ASSIGN_OR_RETURN(std::string path, args.GetRequired("config"));
  f.host = args.GetString("host", f.host);
  RTO_ASSIGN_OR_RETURN(int64_t port, args.GetInt("port", 0));
  RTO_ASSIGN_OR_RETURN(int64_t metrics_port, args.GetInt("metrics-port", 0));
  f.port = static_cast<int>(port);
  f.metrics_port = static_cast<int>(metrics_port);
  f.coordinator = args.GetString("coordinator", "");
  f.name = args.GetString("name", "");
  f.advertise = args.GetString("advertise", "");
  if (f.advertise.empty()) f.advertise = ReachableHost(f.host);
  RTO_ASSIGN_OR_RETURN(ConfigReader config, ConfigReader::Load(path, args.GetAll("set")));
  ThreadPlan threads;
  RTO_RETURN_IF_ERROR(ReadThreadPlan(config, &threads));
  RTO_RETURN_IF_ERROR(f.config.Read(config));
  const int intra_op = ApplyThreadPlan(threads);
  std::cerr << "rto-" << role << ": config " << path << ", " << intra_op << " intra-op threads\n";
  return f;
}

absl::StatusOr<std::unique_ptr<ServiceMetrics>> StartMetrics(const std::string& role, const ServiceFlags& flags) {
  return ServiceMetrics::Start(role, flags.host, flags.metrics_port);
}

ServiceOptions ServiceOptionsOf(const RtoJobConfig& config) { return {.mailbox_capacity = config.launch.mailbox}; }

int Fail(const std::string& role, const absl::Status& status) {
  std::cerr << "rto-" << role << ": error: " << status.message() << "\n";
  return 1;
}

int Serve(const std::string& role, const ServiceFlags& flags, const std::vector<grpc::Service*>& services,
          ServiceMetrics* metrics) {
  int port = 0;
  absl::StatusOr<std::unique_ptr<grpc::Server>> server = StartServer(
      services, {.host = flags.host, .port = flags.port, .max_message_bytes = flags.config.launch.max_message_mb << 20},
      &port);
  if (!server.ok()) return Fail(role, server.status());
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::cerr << "rto-" << role << ": serving on " << flags.host << ":" << port << ", metrics on port " << metrics->port()
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
    });
  }
  while (!g_stop && !(agent && agent->shutdown_requested())) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::cerr << "rto-" << role << ": shutting down" << (g_stop ? "" : " (the coordinator finished the run)") << "\n";
  agent.reset();
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return 0;
}

}  // namespace rto
