// Prometheus metrics of one service (prometheus-cpp's registry and text format), served on the
// service's own HTTP port at /metrics. Names are rto_<role>_<what>_{seconds,bytes,total}; labels
// are bounded (method and status code, never ids). Torch-free. Thread-safe.
//
// The endpoint is a small HTTP server of our own rather than prometheus-cpp's civetweb Exposer:
// civetweb refuses to start ("null context") in any process that links Debian's libtorch_cpu.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/rpc/metric_defs.h"

namespace rto {

class ServiceMetrics {
 public:
  // Serves /metrics on host:port (port 0 picks a free one; see port()). With `basic_auth`
  // ("user:password"), a scrape must carry it as HTTP basic authentication (Prometheus's
  // basic_auth) or is answered 401.
  static absl::StatusOr<std::unique_ptr<ServiceMetrics>> Start(const std::string& role, const std::string& host,
                                                               int port, const std::string& basic_auth = "");
  ~ServiceMetrics();
  int port() const { return port_; }
  const std::string& role() const { return role_; }
  // The text exposition of every metric, as /metrics serves it.
  std::string Scrape() const;

  // rto_<role>_requests_total{method, code} and rto_<role>_request_seconds{method}.
  void ObserveRequest(const std::string& method, const std::string& code, double seconds);
  // A metric of metric_defs.h, created on first use (a counter: with these labels). REQUIRES:
  // def.kind matches.
  prometheus::Counter& Counter(const MetricDef& def, const std::map<std::string, std::string>& labels = {});
  prometheus::Gauge& Gauge(const MetricDef& def);
  prometheus::Histogram& Histogram(const MetricDef& def);
  // The coordinator's gauge of one step metric (metric::kStepMetric), named after `key`.
  prometheus::Gauge& StepGauge(const std::string& key);

 private:
  ServiceMetrics(std::string role) : role_(std::move(role)) {}
  prometheus::Gauge& GaugeNamed(const std::string& name, absl::string_view help);
  void ServeHttp();
  std::string role_;
  int port_ = 0;
  std::string authorization_;  // the Authorization header a scrape must carry; empty: none
  std::shared_ptr<prometheus::Registry> registry_;
  int listen_fd_ = -1;
  std::thread http_;
  absl::Mutex mu_;
  prometheus::Family<prometheus::Counter>* requests_ ABSL_GUARDED_BY(mu_) = nullptr;
  prometheus::Family<prometheus::Histogram>* latency_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::map<std::string, prometheus::Family<prometheus::Counter>*> counters_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, prometheus::Gauge*> gauges_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, prometheus::Histogram*> histograms_ ABSL_GUARDED_BY(mu_);
};

// Times one request and records it when it goes out of scope.
class RequestTimer {
 public:
  RequestTimer(ServiceMetrics* metrics, std::string method) : metrics_(metrics), method_(std::move(method)) {}
  ~RequestTimer();
  void set_code(std::string code) { code_ = std::move(code); }

 private:
  ServiceMetrics* metrics_;
  std::string method_, code_ = "OK";
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace rto
