// `rto ctl status|pause|resume|stop (--address HOST:PORT | --run DIR) [--security-dir DIR]
// [--plaintext] [--json]`: an operator's view of a running coordinator
// (proto/rto/v1/coordinator.proto). --run finds the address in <DIR>/logs/coordinator.json,
// which the coordinator writes when it starts, and the operator's credentials in
// <DIR>/security/operator (where `rto launch` makes them); --security-dir names other ones (a
// mounted Secret); --plaintext calls a coordinator whose config says security.plaintext.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/rpc/call.h"
#include "common/rpc/status.h"
#include "common/security/transport_security.h"
#include "common/util/args.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "rto/v1/coordinator.grpc.pb.h"
#include "services/rto/commands.h"

namespace rto {
namespace {

struct Target {
  std::string address;
  std::shared_ptr<const TransportSecurity> security;
};

absl::StatusOr<Target> CoordinatorTarget(const Args& args) {
  Target t;
  bool plaintext = args.Has("plaintext");
  std::string security_dir = args.GetString("security-dir", "");
  if (args.Has("address")) {
    t.address = args.GetString("address", "");
    if (!plaintext && security_dir.empty()) {
      return absl::InvalidArgumentError(
          "with --address, give --security-dir DIR (the operator's credentials) or --plaintext");
    }
  } else if (args.Has("run")) {
    const std::string run = args.GetString("run", "");
    const std::string path = run + "/logs/coordinator.json";
    RTO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("address") || !j["address"].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": no \"address\" string"));
    }
    t.address = j["address"].get<std::string>();
    plaintext = plaintext || j.value("security", "tls") == "plaintext";
    if (security_dir.empty()) security_dir = run + "/security/operator";
  } else {
    return absl::InvalidArgumentError("give --address HOST:PORT or --run DIR");
  }
  RTO_ASSIGN_OR_RETURN(t.security, TransportSecurity::Load({.plaintext = plaintext, .dir = security_dir}));
  if (t.security->plaintext()) std::cerr << "rto ctl: " << t.security->Describe() << "\n";
  return t;
}

void PrintStatus(const v1::RunStatus& s) {
  std::cout << absl::StrFormat("state %s  step %d/%d  policy version %d  run %s\n",
                               v1::RunStatus::State_Name(s.state()), s.step(), s.total_steps(), s.policy_version(),
                               s.run_dir());
  if (!s.error().empty()) std::cout << "error: " << s.error() << "\n";
  for (const std::string& line : s.recoveries()) std::cout << "recovery: " << line << "\n";
  std::cout << "workers:\n";
  for (const v1::WorkerStatus& w : s.workers()) {
    std::cout << absl::StrFormat("  %-8s %-12s %-22s metrics :%-6d pid %-8d %s (heartbeat %.1f s ago)\n", w.role(),
                                 w.name(), w.address(), w.metrics_port(), w.pid(), w.alive() ? "alive" : "LOST",
                                 w.seconds_since_heartbeat());
  }
  if (s.last_metrics().empty()) return;
  std::cout << "last step:";
  for (const char* key : {"reward/rm_score", "reward/dpo_sequence", "kl/ref", "policy/entropy", "response/length",
                          "rollout/staleness", "time/step_s"}) {
    if (auto it = s.last_metrics().find(key); it != s.last_metrics().end()) {
      std::cout << absl::StrFormat("  %s %.4g", key, it->second);
    }
  }
  std::cout << "\n";
}

absl::Status Ctl(const std::vector<std::string>& argv) {
  RTO_ASSIGN_OR_RETURN(Args args, Args::Parse(argv, {"address", "run", "security-dir"}, {"json", "plaintext"}));
  if (args.positionals().size() != 1) {
    return absl::InvalidArgumentError("expected one of status, pause, resume, stop");
  }
  const std::string& verb = args.positionals()[0];
  RTO_ASSIGN_OR_RETURN(Target target, CoordinatorTarget(args));
  const std::string& address = target.address;
  auto stub = v1::Coordinator::NewStub(Connect(address, {.security = target.security}));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::RunStatus status;
  grpc::Status s;
  if (verb == "status") {
    s = stub->GetStatus(&context, v1::GetStatusRequest(), &status);
  } else if (verb == "pause") {
    s = stub->Pause(&context, v1::ControlRequest(), &status);
  } else if (verb == "resume") {
    s = stub->Resume(&context, v1::ControlRequest(), &status);
  } else if (verb == "stop") {
    s = stub->Stop(&context, v1::ControlRequest(), &status);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown verb '", verb, "' (expected status, pause, resume, stop)"));
  }
  RTO_RETURN_IF_ERROR(FromGrpc(s, absl::StrCat("the coordinator at ", address)));
  if (args.Has("json")) {
    google::protobuf::util::JsonPrintOptions options;
    options.always_print_primitive_fields = true;
    options.preserve_proto_field_names = true;
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(status, &json, options).ok()) {
      return absl::InternalError("cannot print the status as JSON");
    }
    std::cout << json << "\n";
  } else {
    PrintStatus(status);
  }
  return absl::OkStatus();
}

}  // namespace

int CtlCommand(const std::vector<std::string>& args) {
  absl::Status s = Ctl(args);
  if (s.ok()) return 0;
  std::cerr << "rto ctl: error: " << absl::StatusCodeToString(s.code()) << ": " << s.message() << "\n";
  return 1;
}

}  // namespace rto
