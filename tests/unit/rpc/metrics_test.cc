// The metrics endpoint scraped over real HTTP, as Prometheus does.
#include "common/rpc/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;

std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return "connect failed";
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  send(fd, request.data(), request.size(), 0);
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) response.append(buffer, n);
  close(fd);
  return response;
}

TEST(MetricsTest, ScrapedOverHttpInPrometheusTextFormat) {
  auto m = ServiceMetrics::Start("rollout", "127.0.0.1", 0);
  ASSERT_THAT(m, IsOk());
  ASSERT_GT((*m)->port(), 0);
  (*m)->ObserveRequest("Generate", "OK", 0.02);
  (*m)->ObserveRequest("Generate", "OK", 0.2);
  (*m)->ObserveRequest("SyncWeights", "DEADLINE_EXCEEDED", 3);
  (*m)->Counter(metric::kGeneratedTokens).Increment(42);
  (*m)->Gauge(metric::kPolicyVersion).Set(7);
  const std::string page = HttpGet((*m)->port(), "/metrics");
  EXPECT_NE(page.find("HTTP/1.1 200 OK"), std::string::npos) << page;
  EXPECT_NE(page.find("rto_rollout_requests_total{code=\"OK\",method=\"Generate\"} 2"), std::string::npos) << page;
  EXPECT_NE(page.find("rto_rollout_requests_total{code=\"DEADLINE_EXCEEDED\",method=\"SyncWeights\"} 1"),
            std::string::npos);
  EXPECT_NE(page.find("rto_rollout_request_seconds_count{method=\"Generate\"} 2"), std::string::npos);
  EXPECT_NE(page.find("rto_rollout_generated_tokens_total 42"), std::string::npos);
  EXPECT_NE(page.find("rto_rollout_policy_version 7"), std::string::npos);
  EXPECT_NE(HttpGet((*m)->port(), "/other").find("404"), std::string::npos);
}

}  // namespace
}  // namespace rto
