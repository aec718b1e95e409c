// How every gRPC handler of ours runs: timed, counted by status code, exceptions turned into
// INTERNAL, absl::Status converted to grpc::Status.
#pragma once

#include <grpcpp/support/status.h>

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/rpc/metrics.h"
#include "common/rpc/status.h"

namespace rto {

template <typename Fn>
grpc::Status Handle(ServiceMetrics* metrics, const char* method, Fn fn) {
  RequestTimer timer(metrics, method);
  absl::Status s;
  try {
    s = fn();
  } catch (const std::exception& e) {
    s = absl::InternalError(absl::StrCat(method, ": ", e.what()));
  }
  timer.set_code(absl::StatusCodeToString(s.code()));
  return ToGrpc(s);
}

}  // namespace rto
