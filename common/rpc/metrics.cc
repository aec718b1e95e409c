#include "common/rpc/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/util/time.h"

namespace rto {
namespace {

const prometheus::Histogram::BucketBoundaries& SecondsBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 150, 300};
  return *buckets;
}

// The value of an HTTP request's header `name` (lowercase), "" when absent.
std::string HeaderOf(const std::string& request, absl::string_view name) {
  for (absl::string_view line : absl::StrSplit(request, "\r\n")) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || absl::AsciiStrToLower(line.substr(0, colon)) != name) continue;
    return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceMetrics>> ServiceMetrics::Start(const std::string& role, const std::string& host,
                                                                      int port, const std::string& basic_auth) {
  std::unique_ptr<ServiceMetrics> m(new ServiceMetrics(role));
  if (!basic_auth.empty()) {
    if (basic_auth.find(':') == std::string::npos) {
      return absl::InvalidArgumentError("the metrics' basic authentication must be user:password");
    }
    m->authorization_ = absl::StrCat("Basic ", absl::Base64Escape(basic_auth));
  }
  m->registry_ = std::make_shared<prometheus::Registry>();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("metrics host '", host, "' is not an IPv4 address"));
  }
  m->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(m->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  socklen_t len = sizeof(addr);
  if (m->listen_fd_ < 0 || bind(m->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(m->listen_fd_, 16) != 0 || getsockname(m->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", host, ":", port, ": ", strerror(errno)));
  }
  m->port_ = ntohs(addr.sin_port);
  m->http_ = std::thread([raw = m.get()] { raw->ServeHttp(); });
  absl::MutexLock lock(&m->mu_);
  m->requests_ = &prometheus::BuildCounter()
                      .Name(absl::StrCat("rto_", role, "_", metric::kRequests.name))
                      .Help(std::string(metric::kRequests.help))
                      .Register(*m->registry_);
  m->latency_ = &prometheus::BuildHistogram()
                     .Name(absl::StrCat("rto_", role, "_", metric::kRequestSeconds.name))
                     .Help(std::string(metric::kRequestSeconds.help))
                     .Register(*m->registry_);
  return m;
}

ServiceMetrics::~ServiceMetrics() {
  if (listen_fd_ >= 0) {
    shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    if (http_.joinable()) http_.join();
    close(listen_fd_);
  }
}

std::string ServiceMetrics::Scrape() const { return prometheus::TextSerializer().Serialize(registry_->Collect()); }

void ServiceMetrics::ServeHttp() {
  while (true) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return;  // shut down
    }
    timeval timeout{.tv_sec = 5, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
      const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      request.append(buffer, n);
    }
    std::string status = "404 Not Found", body = "not found: try /metrics\n", challenge;
    if (request.rfind("GET /metrics ", 0) == 0 || request.rfind("GET /metrics?", 0) == 0) {
      if (authorization_.empty() || HeaderOf(request, "authorization") == authorization_) {
        status = "200 OK";
        body = Scrape();
      } else {
        status = "401 Unauthorized";
        body = "unauthorized\n";
        challenge = "WWW-Authenticate: Basic realm=\"rto metrics\"\r\n";
      }
    }
    const std::string response =
        absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n", challenge,
                     "Content-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
    for (size_t sent = 0; sent < response.size();) {
      const ssize_t n = send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += n;
    }
    close(fd);
  }
}

void ServiceMetrics::ObserveRequest(const std::string& method, const std::string& code, double seconds) {
  absl::MutexLock lock(&mu_);
  requests_->Add({{"method", method}, {"code", code}}).Increment();
  latency_->Add({{"method", method}}, SecondsBuckets()).Observe(seconds);
}

prometheus::Counter& ServiceMetrics::Counter(const MetricDef& def, const std::map<std::string, std::string>& labels) {
  absl::MutexLock lock(&mu_);
  prometheus::Family<prometheus::Counter>*& family = counters_[std::string(def.name)];
  if (family == nullptr) {
    family = &prometheus::BuildCounter()
                  .Name(absl::StrCat("rto_", role_, "_", def.name))
                  .Help(std::string(def.help))
                  .Register(*registry_);
  }
  return family->Add(labels);
}

prometheus::Gauge& ServiceMetrics::GaugeNamed(const std::string& name, absl::string_view help) {
  absl::MutexLock lock(&mu_);
  prometheus::Gauge*& g = gauges_[name];
  if (g == nullptr) {
    g = &prometheus::BuildGauge()
             .Name(absl::StrCat("rto_", role_, "_", name))
             .Help(std::string(help))
             .Register(*registry_)
             .Add({});
  }
  return *g;
}

prometheus::Gauge& ServiceMetrics::Gauge(const MetricDef& def) { return GaugeNamed(std::string(def.name), def.help); }

prometheus::Gauge& ServiceMetrics::StepGauge(const std::string& key) {
  return GaugeNamed(absl::StrReplaceAll(key, {{"/", "_"}, {"+", "p"}}),
                    absl::StrCat(metric::kStepMetric.help, ": ", key));
}

prometheus::Histogram& ServiceMetrics::Histogram(const MetricDef& def) {
  absl::MutexLock lock(&mu_);
  prometheus::Histogram*& h = histograms_[std::string(def.name)];
  if (h == nullptr) {
    h = &prometheus::BuildHistogram()
             .Name(absl::StrCat("rto_", role_, "_", def.name))
             .Help(std::string(def.help))
             .Register(*registry_)
             .Add({}, SecondsBuckets());
  }
  return *h;
}

RequestTimer::~RequestTimer() {
  if (metrics_ == nullptr) return;
  metrics_->ObserveRequest(method_, code_, SecondsSince(start_));
}

}  // namespace rto
