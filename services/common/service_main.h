// What every role's executable shares: flags, the run config, the metrics endpoint, registering
// with the coordinator and heartbeating, and serving until SIGTERM, SIGINT or the coordinator's
// shutdown.
//
//   rto-<role> --config FILE [--set key=value ...] [--host H] [--port P] [--metrics-port P]
//              [--metrics-host H] [--health-port P] [--coordinator HOST:PORT] [--name NAME] [--advertise HOST]
//              [--rank R --rendezvous HOST:PORT]
//
// The config's security block says how its gRPC is protected (common/security); --health-port
// adds a plaintext port that answers only grpc.health.v1 Check, for probes without credentials.
// --host is the address to bind (0.0.0.0 in a container); --advertise the host the coordinator
// reaches this worker at (default: --host, or this machine's IP address when binding 0.0.0.0);
// --name identifies it in the run (default <role>@<advertised host>:<port>).
// A learner or critic trained by N data-parallel ranks (launch.learner_ranks, critic_ranks) is
// N processes: rank R of them (--rank), which meet at --rendezvous, the store rank 0 hosts on
// that port.
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
#include "common/security/transport_security.h"
#include "common/train/data_parallel.h"

namespace rto {

struct ServiceFlags {
  std::string host = "127.0.0.1";
  int port = 0;
  int metrics_port = 0;
  std::string metrics_host;  // --metrics-host: the interface /metrics listens on (default --host)
  int health_port = -1;      // -1: none
  std::string coordinator, name, advertise;
  int rank = 0;
  std::string rendezvous_host;  // --rendezvous
  int rendezvous_port = 0;
  RtoJobConfig config;
  std::shared_ptr<const TransportSecurity> security;  // loaded from config.security
};
// --help (or -h) prints the usage and exits 0. Also applies the config's thread plan
// (common/runtime/threads.h) to this process.
absl::StatusOr<ServiceFlags> ParseServiceFlags(const std::string& role, int argc, char** argv);

// Starts the server, registers with the coordinator (with --coordinator), serves until SIGTERM,
// SIGINT or the coordinator's shutdown, then shuts down. Returns the process exit code.
int Serve(const std::string& role, const ServiceFlags& flags, const std::vector<grpc::Service*>& services,
          ServiceMetrics* metrics);
absl::StatusOr<std::unique_ptr<ServiceMetrics>> StartMetrics(const std::string& role, const ServiceFlags& flags);
ServiceOptions ServiceOptionsOf(const RtoJobConfig& config);

// This process's rank of its role's data-parallel group of `world_size` ranks (null when
// world_size is 1), joined through --rendezvous; rank 0 passes the rendezvous it hosts on that
// port (StartRendezvous). Waits for every rank up to launch.startup_timeout_s.
absl::StatusOr<std::unique_ptr<DataParallelGroup>> JoinDataParallel(const std::string& role, const ServiceFlags& flags,
                                                                    int64_t world_size, Rendezvous* hosted);
// The store this process hosts on its advertised address (not a wildcard --host) at the
// --rendezvous port (0: a free port).
absl::StatusOr<std::unique_ptr<Rendezvous>> StartRendezvous(const ServiceFlags& flags);

// Prints "rto-<role>: error: ..." and returns 1.
int Fail(const std::string& role, const absl::Status& status);

}  // namespace rto
