#include "common/rpc/server.h"

#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "common/rpc/handler.h"
#include "common/rpc/wire.h"
#include "common/util/status_macros.h"

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
        .Call<bool>(deadline,
                    [&]() -> absl::StatusOr<bool> {
                      RTO_RETURN_IF_ERROR(fn(request.dir()));
                      return true;
                    })
        .status();
  });
}

grpc::Status HandleWeightsHash(ServiceMetrics* metrics, Mailbox& mailbox, Mailbox::Deadline deadline,
                               const std::function<absl::StatusOr<WeightsFingerprint>()>& fingerprint,
                               v1::WeightsHashResponse* response) {
  return Handle(metrics, "WeightsHash", [&]() -> absl::Status {
    RTO_ASSIGN_OR_RETURN(WeightsFingerprint f, mailbox.Call<WeightsFingerprint>(deadline, fingerprint));
    wire::ToProto(f, response);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::unique_ptr<grpc::Server>> StartServer(const std::vector<grpc::Service*>& services,
                                                          const ServerOptions& options, int* bound_port) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(options.host, ":", options.port), grpc::InsecureServerCredentials(),
                           bound_port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  for (grpc::Service* s : services) builder.RegisterService(s);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *bound_port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.host, ":", options.port));
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  return server;
}

}  // namespace rto
