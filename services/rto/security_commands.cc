// `rto security init` and `rto health`: the credentials of a deployment, and a health probe.
//
// `rto security init --out DIR [--host NAME ...] [--days N]` makes a run's credentials (a CA; a
// certificate, key and bearer token per principal: coordinator, learner, critic, scorer, rollout,
// operator; common/security/pki.h's layout, one directory per principal) for deployments that
// start the roles themselves: docker-compose mounts each directory as a secret, Kubernetes
// holds each in Secrets (deploy/README.md). The certificates are valid for localhost, 127.0.0.1
// and every --host (the name set as security.server_name, and the services' DNS names).
//
// `rto health --address HOST:PORT (--plaintext | --security-dir DIR)` asks a server's
// grpc.health.v1 Check and exits 0 when it answers SERVING, 1 otherwise: compose's health
// check against a service's --health-port (plaintext), or with the run's credentials against
// its gRPC port.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/rpc/call.h"
#include "common/security/pki.h"
#include "common/security/policy.h"
#include "common/security/transport_security.h"
#include "common/util/args.h"
#include "common/util/status_macros.h"
#include "services/rto/commands.h"

namespace rto {
namespace {

absl::Status SecurityInit(const std::vector<std::string>& argv) {
  RTO_ASSIGN_OR_RETURN(Args args, Args::Parse(argv, {"out", "host", "days"}));
  if (args.positionals().size() != 1 || args.positionals()[0] != "init") {
    return absl::InvalidArgumentError("expected `rto security init --out DIR [--host NAME ...] [--days N]`");
  }
  RTO_ASSIGN_OR_RETURN(std::string out, args.GetRequired("out"));
  RunPkiOptions options{.principals = RunPrincipals()};
  for (const std::string& host : args.GetAll("host")) options.hosts.push_back(host);
  RTO_ASSIGN_OR_RETURN(int64_t days, args.GetInt("days", options.days));
  options.days = static_cast<int>(days);
  RTO_RETURN_IF_ERROR(MakeRunPki(out, options));
  std::cout << "made the run's CA (its key is not kept), and a certificate, key and token for each of";
  for (const std::string& p : options.principals) std::cout << " " << p;
  std::cout << " in " << out << "/<principal>/\n";
  return absl::OkStatus();
}

absl::Status Health(const std::vector<std::string>& argv) {
  RTO_ASSIGN_OR_RETURN(Args args, Args::Parse(argv, {"address", "security-dir"}, {"plaintext"}));
  RTO_ASSIGN_OR_RETURN(std::string address, args.GetRequired("address"));
  if (args.Has("plaintext") == args.Has("security-dir")) {
    return absl::InvalidArgumentError("give --plaintext (a --health-port) or --security-dir DIR (the gRPC port)");
  }
  RTO_ASSIGN_OR_RETURN(
      std::shared_ptr<const TransportSecurity> security,
      TransportSecurity::Load({.plaintext = args.Has("plaintext"), .dir = args.GetString("security-dir", "")}));
  return WaitHealthy(Connect(address, {.security = security}), address, std::chrono::seconds(3));
}

}  // namespace

int SecurityCommand(const std::vector<std::string>& args) { return Report("security", SecurityInit(args)); }

int HealthCommand(const std::vector<std::string>& args) {
  const absl::Status s = Health(args);
  if (s.ok()) return 0;
  std::cerr << "rto health: " << s.message() << "\n";
  return 1;
}

}  // namespace rto
