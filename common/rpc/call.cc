#include "common/rpc/call.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace rto {

std::shared_ptr<grpc::Channel> Connect(const std::string& address, const ClientOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  args.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  const std::shared_ptr<const TransportSecurity> security =
      options.security != nullptr ? options.security : TransportSecurity::Plaintext();
  security->ConfigureChannel(&args);
  return grpc::CreateCustomChannel(address, security->ChannelCredentials(), args);
}

grpc::Status CallWatched(const ClientOptions& o, grpc::ClientContext& context,
                         const std::function<grpc::Status(grpc::ClientContext&)>& fn, bool* cancelled) {
  *cancelled = false;
  if (!o.peer_alive) return fn(context);
  absl::Mutex mu;
  bool done = false;
  std::thread watchdog([&] {
    absl::MutexLock lock(&mu);
    while (!mu.AwaitWithTimeout(absl::Condition(&done), absl::Milliseconds(100))) {
      if (!o.peer_alive()) {
        *cancelled = true;
        context.TryCancel();
        return;
      }
    }
  });
  const grpc::Status s = fn(context);
  {
    absl::MutexLock lock(&mu);
    done = true;
  }
  watchdog.join();
  return s;
}

absl::Status WaitHealthy(const std::shared_ptr<grpc::Channel>& channel, const std::string& name,
                         std::chrono::milliseconds timeout, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  const auto end = std::chrono::steady_clock::now() + timeout;
  grpc::Status last;
  while (std::chrono::steady_clock::now() < end) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    last = stub->Check(&context, request, &response);
    if (last.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat(name, " did not become healthy within ", timeout.count(),
                                                  " ms (last answer: ", last.error_message(), ")"));
}

}  // namespace rto
