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

std::string HttpGet(int port, const std::string& path, const std::string& headers = "") {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return "connect failed";
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + headers + "\r\n";
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

TEST(MetricsTest, WithBasicAuthenticationAScrapeMustCarryIt) {
  auto m = ServiceMetrics::Start("learner", "127.0.0.1", 0, "prometheus:s3cret");
  ASSERT_THAT(m, IsOk());
  (*m)->Gauge(metric::kPolicyVersion).Set(3);
  const std::string none = HttpGet((*m)->port(), "/metrics");
  EXPECT_NE(none.find("HTTP/1.1 401 Unauthorized"), std::string::npos) << none;
  EXPECT_NE(none.find("WWW-Authenticate: Basic"), std::string::npos) << none;
  EXPECT_EQ(none.find("rto_learner_policy_version"), std::string::npos);
  // base64("prometheus:wrong"), then base64("prometheus:s3cret"); header names are case-blind.
  EXPECT_NE(HttpGet((*m)->port(), "/metrics", "Authorization: Basic cHJvbWV0aGV1czp3cm9uZw==\r\n").find("401"),
            std::string::npos);
  const std::string page = HttpGet((*m)->port(), "/metrics", "authorization: Basic cHJvbWV0aGV1czpzM2NyZXQ=\r\n");
  EXPECT_NE(page.find("rto_learner_policy_version 3"), std::string::npos) << page;
  EXPECT_FALSE(ServiceMetrics::Start("learner", "127.0.0.1", 0, "no colon").ok());
}

}  // namespace
}  // namespace rto
