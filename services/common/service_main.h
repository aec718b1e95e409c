// What every role's executable shares: flags, the run config, the metrics endpoint, registering
// with the coordinator and heartbeating, and serving until SIGTERM, SIGINT or the coordinator's
// shutdown.
//
//   rto-<role> --config FILE [--set key=value ...] [--host H] [--port P] [--metrics-port P]
//              [--coordinator HOST:PORT] [--name NAME] [--advertise HOST]
//
// --host is the address to bind (0.0.0.0 in a container); --advertise the host the coordinator
// reaches this worker at (default: --host, or this machine's IP address when binding 0.0.0.0);
// --name identifies it in the run (default <role>@<advertised host>:<port>).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/actors/broadcast_weight_channel.h"
#include "common/actors/rto_job.h"
#include "common/rpc/metrics.h"
#include "common/rpc/server.h"

namespace rto {

struct ServiceFlags {
  std::string host = "127.0.0.1";
  int port = 0;
  int metrics_port = 0;
  std::string coordinator, name, advertise;
  RtoJobConfig config;
};
// Also applies the config's thread plan (common/runtime/threads.h) to this process.
absl::StatusOr<ServiceFlags> ParseServiceFlags(const std::string& role, int argc, char** argv);

// Starts the server, registers with the coordinator (with --coordinator), serves until SIGTERM,
// SIGINT or the coordinator's shutdown, then shuts down. Returns the process exit code.
int Serve(const std::string& role, const ServiceFlags& flags, const std::vector<grpc::Service*>& services,
          ServiceMetrics* metrics);
absl::StatusOr<std::unique_ptr<ServiceMetrics>> StartMetrics(const std::string& role, const ServiceFlags& flags);
ServiceOptions ServiceOptionsOf(const RtoJobConfig& config);

// Prints "rto-<role>: error: ..." and returns 1.
int Fail(const std::string& role, const absl::Status& status);

}  // namespace rto
