#include "common/rpc/server.h"

#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "common/rpc/handler.h"
#include "common/rpc/wire.h"
#include "common/util/status_macros.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace rto {

void ObserveMailbox(ServiceMetrics* metrics, const Mailbox& mailbox) {
  if (metrics) metrics->Gauge(metric::kMailboxDepth).Set(mailbox.depth());
}

// Save / Restore / SavePolicy: `fn(dir)` on the actor thread.
void ObserveWeightSync(ServiceMetrics* metrics, const WeightSyncStats& stats) {
  if (metrics == nullptr) return;
  metrics->Histogram(metric::kWeightSyncSeconds).Observe(stats.seconds);
  metrics->Counter(metric::kWeightSyncBytes).Increment(static_cast<double>(stats.bytes));
  metrics->Gauge(metric::kWeightSyncSharedMemory).Set(stats.transport == "shm" ? 1 : 0);
}

grpc::Status HandleCheckpoint(ServiceMetrics* metrics, Mailbox& mailbox, Mailbox::Deadline deadline, const char* method,
                              const v1::CheckpointRequest& request,
                              const std::function<absl::Status(const std::string&)>& fn) {
  return Handle(metrics, method, [&]() -> absl::Status {
    if (request.dir().empty()) return absl::InvalidArgumentError("an empty checkpoint directory");
    return mailbox
        .Call<bool>(
            deadline,
            [&]() -> absl::StatusOr<bool> {
              RTO_RETURN_IF_ERROR(fn(request.dir()));
              return true;
            },
            Mailbox::Lane::kControl)
        .status();
  });
}

grpc::Status HandleWeightsHash(ServiceMetrics* metrics, Mailbox& mailbox, Mailbox::Deadline deadline,
                               const std::function<absl::StatusOr<WeightsFingerprint>()>& fingerprint,
                               v1::WeightsHashResponse* response) {
  return Handle(metrics, "WeightsHash", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(WeightsFingerprint f,
                         mailbox.Call<WeightsFingerprint>(deadline, fingerprint, Mailbox::Lane::kControl));
    wire::ToProto(f, response);
    return absl::OkStatus();
  });
}

namespace {

// grpc.health.v1's Check for the health-only port: SERVING while the services' server runs.
// Watch is not offered (probes poll Check).
class HealthOnlyService : public grpc::health::v1::Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest*,
                     grpc::health::v1::HealthCheckResponse* response) override {
    response->set_status(grpc::health::v1::HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }
};

}  // namespace

RpcServer::RpcServer(std::unique_ptr<grpc::Server> server, int port, std::unique_ptr<grpc::Service> health_service,
                     std::unique_ptr<grpc::Server> health_server, int health_port)
    : server_(std::move(server)),
      port_(port),
      health_service_(std::move(health_service)),
      health_server_(std::move(health_server)),
      health_port_(health_port) {}

RpcServer::~RpcServer() { Shutdown(std::chrono::system_clock::now()); }

void RpcServer::SetServing(const std::string& service) {
  server_->GetHealthCheckService()->SetServingStatus(service, true);
}

void RpcServer::Shutdown(std::chrono::system_clock::time_point deadline) {
  if (health_server_ != nullptr) health_server_->Shutdown(deadline);
  if (server_ != nullptr) server_->Shutdown(deadline);
}

absl::StatusOr<std::unique_ptr<RpcServer>> StartServer(const std::vector<grpc::Service*>& services,
                                                       const ServerOptions& options) {
  const std::shared_ptr<const TransportSecurity> security =
      options.security != nullptr ? options.security : TransportSecurity::Plaintext();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::StrCat(options.host, ":", options.port), security->ServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  for (grpc::Service* s : services) builder.RegisterService(s);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.host, ":", options.port));
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  std::unique_ptr<grpc::Service> health_service;
  std::unique_ptr<grpc::Server> health_server;
  int health_port = -1;
  if (options.health_port >= 0) {
    health_service = std::make_unique<HealthOnlyService>();
    grpc::ServerBuilder health;
    health.AddListeningPort(absl::StrCat(options.host, ":", options.health_port), grpc::InsecureServerCredentials(),
                            &health_port);
    // Requests to it are a few bytes.
    health.SetMaxReceiveMessageSize(4096);
    health.RegisterService(health_service.get());
    // Ours instead of gRPC's default one (which would also offer Watch).
    health.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
    health_server = health.BuildAndStart();
    if (health_server == nullptr || health_port == 0) {
      server->Shutdown();
      return absl::UnavailableError(
          absl::StrCat("cannot listen for health checks on ", options.host, ":", options.health_port));
    }
  }
  return std::make_unique<RpcServer>(std::move(server), port, std::move(health_service), std::move(health_server),
                                     health_port);
}

}  // namespace rto
