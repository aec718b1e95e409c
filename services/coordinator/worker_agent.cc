#include "services/coordinator/worker_agent.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netdb.h>
#include <unistd.h>

#include <iostream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/rpc/call.h"

namespace rto {
namespace {

constexpr auto kRpcDeadline = std::chrono::seconds(5);

}  // namespace

std::string ReachableHost(const std::string& bind_host) {
  if (bind_host != "0.0.0.0" && bind_host != "::" && !bind_host.empty()) return bind_host;
  char hostname[256] = {};
  if (gethostname(hostname, sizeof(hostname) - 1) != 0) return "127.0.0.1";
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* found = nullptr;
  std::string out = hostname;
  if (getaddrinfo(hostname, nullptr, &hints, &found) == 0 && found != nullptr) {
    char ip[INET_ADDRSTRLEN] = {};
    const auto* addr = reinterpret_cast<const sockaddr_in*>(found->ai_addr);
    if (inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof(ip)) != nullptr) out = ip;
    freeaddrinfo(found);
  }
  return out;
}

WorkerAgent::WorkerAgent(WorkerAgentOptions options)
    : options_(std::move(options)),
      stub_(v1::Coordinator::NewStub(Connect(options_.coordinator, {.security = options_.security}))),
      thread_([this] { Loop(); }) {}

WorkerAgent::~WorkerAgent() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_.SignalAll();
  }
  thread_.join();
}

grpc::Status WorkerAgent::Register() {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
  v1::RegisterRequest request;
  request.set_role(options_.role);
  request.set_name(options_.name);
  request.set_address(options_.address);
  request.set_metrics_port(options_.metrics_port);
  request.set_pid(getpid());
  request.set_rank(options_.rank);
  v1::RegisterResponse response;
  const grpc::Status s = stub_->Register(&context, request, &response);
  if (!s.ok()) {
    Refused(s, "registration");
    return s;
  }
  worker_id_ = response.worker_id();
  interval_ = std::chrono::milliseconds(std::max<int64_t>(response.heartbeat_interval_ms(), 10));
  std::cerr << "rto-" << options_.role << ": registered with the coordinator at " << options_.coordinator << " as "
            << worker_id_ << "\n";
  if (options_.on_registered) options_.on_registered(worker_id_);
  return grpc::Status::OK;
}

std::string WorkerAgent::refused() const {
  absl::MutexLock lock(&mu_);
  return refused_;
}

bool WorkerAgent::Refused(const grpc::Status& s, const char* call) {
  const grpc::StatusCode code = s.error_code();
  if (code != grpc::StatusCode::INVALID_ARGUMENT && code != grpc::StatusCode::UNAUTHENTICATED &&
      code != grpc::StatusCode::PERMISSION_DENIED) {
    return false;
  }
  absl::MutexLock lock(&mu_);
  refused_ = absl::StrCat("the coordinator at ", options_.coordinator, " refused the ", call, ": ", s.error_message());
  return true;
}

void WorkerAgent::Loop() {
  // While the coordinator does not answer, said at once and then once a minute, with gRPC's why
  // (a name that does not resolve, a refused connection, a failed TLS handshake).
  std::optional<absl::Time> unanswered_since;
  absl::Time next_reminder;
  while (true) {
    if (!registered_) {
      const grpc::Status s = Register();
      registered_ = s.ok();
      if (!refused().empty()) return;
      const absl::Time now = absl::Now();
      if (registered_) {
        unanswered_since.reset();
      } else if (!unanswered_since || now >= next_reminder) {
        const std::string how_long =
            unanswered_since
                ? absl::StrCat("still does not answer after ", absl::ToInt64Seconds(now - *unanswered_since), " s")
                : "does not answer yet";
        if (!unanswered_since) unanswered_since = now;
        next_reminder = now + absl::Minutes(1);
        std::cerr << "rto-" << options_.role << ": the coordinator at " << options_.coordinator << " " << how_long
                  << " (" << s.error_message() << "); serving meanwhile and retrying\n";
      }
    }
    {
      absl::MutexLock lock(&mu_);
      const absl::Time until = absl::Now() + absl::FromChrono(registered_ ? interval_ : options_.retry);
      bool timed_out = false;
      while (!stopping_ && !timed_out) timed_out = wake_.WaitWithDeadline(&mu_, until);
      if (stopping_) return;
    }
    if (!registered_) continue;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    v1::HeartbeatRequest request;
    request.set_worker_id(worker_id_);
    v1::HeartbeatResponse response;
    if (const grpc::Status s = stub_->Heartbeat(&context, request, &response); !s.ok()) {
      if (Refused(s, "heartbeat")) return;
      continue;  // the next beat tries again
    }
    if (response.shutdown()) shutdown_ = true;
    if (response.evicted()) {
      evicted_ = true;
      shutdown_ = true;
      return;
    }
    if (!response.known()) {
      std::cerr << "rto-" << options_.role << ": the coordinator no longer knows " << worker_id_
                << "; registering again\n";
      registered_ = false;
    }
  }
}

}  // namespace rto
