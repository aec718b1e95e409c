// The run's transport security over real gRPC on loopback: credentials made by MakeRunPki, a
// server protected by one principal's, and clients with the right, no, wrong and foreign
// credentials; and the errors of bad credential files.
#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "common/rpc/server.h"
#include "common/security/pki.h"
#include "common/security/policy.h"
#include "common/security/transport_security.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "rto/v1/coordinator.grpc.pb.h"
#include "rto/v1/critic.grpc.pb.h"
#include "rto/v1/learner.grpc.pb.h"
#include "rto/v1/rollout.grpc.pb.h"
#include "rto/v1/scorer.grpc.pb.h"
#include "tests/testing/test_util.h"

namespace rto {
namespace {

using ::rto::testing::IsOk;
using ::rto::testing::ReadFile;
using ::rto::testing::StatusIs;
using ::rto::testing::TempDir;
using ::rto::testing::WriteFile;

std::shared_ptr<const TransportSecurity> Load(const std::string& dir, bool mutual_tls = true) {
  absl::StatusOr<std::shared_ptr<const TransportSecurity>> s =
      TransportSecurity::Load({.dir = dir, .mutual_tls = mutual_tls});
  EXPECT_THAT(s, IsOk());
  return s.ok() ? *s : nullptr;
}

std::string Token(const std::string& dir) { return std::string(absl::StripAsciiWhitespace(ReadFile(dir + "/token"))); }

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

// Sends `token` (or nothing when empty) as the bearer token.
class FixedToken : public grpc::MetadataCredentialsPlugin {
 public:
  explicit FixedToken(std::string token) : token_(std::move(token)) {}
  grpc::Status GetMetadata(grpc::string_ref, grpc::string_ref, const grpc::AuthContext&,
                           std::multimap<grpc::string, grpc::string>* md) override {
    md->insert({"authorization", "Bearer " + token_});
    return grpc::Status::OK;
  }

 private:
  std::string token_;
};

// TLS with `dir`'s certificate, trusting `ca_dir`'s CA, and `token` (none when empty).
std::shared_ptr<grpc::ChannelCredentials> Tls(const std::string& dir, const std::string& ca_dir,
                                              const std::string& token) {
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = ReadFile(ca_dir + "/ca.crt");
  o.pem_private_key = ReadFile(dir + "/tls.key");
  o.pem_cert_chain = ReadFile(dir + "/tls.crt");
  auto tls = grpc::SslCredentials(o);
  if (token.empty()) return tls;
  return grpc::CompositeChannelCredentials(tls,
                                           grpc::MetadataCredentialsFromPlugin(std::make_unique<FixedToken>(token)));
}

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(MakeRunPki(pki_.path(), {.principals = RunPrincipals()}), IsOk());
    ASSERT_THAT(MakeRunPki(foreign_.path(), {.principals = RunPrincipals()}), IsOk());
  }
  std::string Dir(const std::string& principal) const { return pki_.Join(principal); }

  // A server holding only grpc.health.v1, protected as `principal`: calls that pass the checks
  // reach it and, for the rto services it does not have, answer UNIMPLEMENTED.
  void Serve(const std::string& principal, bool mutual_tls = true) {
    security_ = Load(Dir(principal), mutual_tls);
    ASSERT_NE(security_, nullptr);
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", security_->ServerCredentials(), &port_);
    builder.RegisterService(&unimplemented_);  // a sync server needs a sync service
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }

  std::shared_ptr<grpc::Channel> Channel(std::shared_ptr<grpc::ChannelCredentials> credentials) const {
    grpc::ChannelArguments args;
    return grpc::CreateCustomChannel("localhost:" + std::to_string(port_), credentials, args);
  }
  std::shared_ptr<grpc::Channel> ChannelAs(const std::string& principal) const {
    return Channel(Load(Dir(principal))->ChannelCredentials());
  }

  static grpc::Status Check(const std::shared_ptr<grpc::Channel>& channel) {
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    return grpc::health::v1::Health::NewStub(channel)->Check(&c, request, &response);
  }
  static grpc::StatusCode Train(const std::shared_ptr<grpc::Channel>& channel) {
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::PolicyExperience request;
    v1::Stats response;
    return v1::Learner::NewStub(channel)->Train(&c, request, &response).error_code();
  }
  static grpc::StatusCode Coordinator(const std::shared_ptr<grpc::Channel>& channel, const std::string& method) {
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto stub = v1::Coordinator::NewStub(channel);
    v1::RunStatus status;
    if (method == "Register") {
      v1::RegisterResponse response;
      return stub->Register(&c, v1::RegisterRequest(), &response).error_code();
    }
    if (method == "Heartbeat") {
      v1::HeartbeatResponse response;
      return stub->Heartbeat(&c, v1::HeartbeatRequest(), &response).error_code();
    }
    if (method == "GetStatus") return stub->GetStatus(&c, v1::GetStatusRequest(), &status).error_code();
    if (method == "Stop") return stub->Stop(&c, v1::ControlRequest(), &status).error_code();
    ADD_FAILURE() << method;
    return grpc::StatusCode::UNKNOWN;
  }

  TempDir pki_, foreign_;
  std::shared_ptr<const TransportSecurity> security_;
  v1::Scorer::Service unimplemented_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(SecurityTest, MakesTheLayoutWithPrivateKeysAndTokens) {
  for (const std::string& p : RunPrincipals()) {
    EXPECT_EQ(ModeOf(Dir(p)), 0700u) << p;
    EXPECT_EQ(ModeOf(Dir(p) + "/tls.key"), 0600u) << p;
    EXPECT_EQ(ModeOf(Dir(p) + "/token"), 0600u) << p;
    EXPECT_EQ(ReadFile(Dir(p) + "/ca.crt"), ReadFile(Dir("coordinator") + "/ca.crt"));
    EXPECT_EQ(Load(Dir(p))->principal(), p);
  }
  EXPECT_NE(ReadFile(Dir("learner") + "/token"), ReadFile(Dir("rollout") + "/token"));
  // No file of the layout holds the CA's key: nothing can issue another certificate of the run.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(pki_.path())) {
    if (!entry.is_regular_file()) continue;
    const bool has_key = ReadFile(entry.path()).find("PRIVATE KEY") != std::string::npos;
    EXPECT_EQ(has_key, entry.path().filename() == "tls.key") << entry.path();
  }
}

TEST_F(SecurityTest, TheRightPrincipalGetsThrough) {
  Serve("learner");
  EXPECT_TRUE(Check(ChannelAs("coordinator")).ok()) << Check(ChannelAs("coordinator")).error_message();
  // Past the checks: the server has no Learner service.
  EXPECT_EQ(Train(ChannelAs("coordinator")), grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(SecurityTest, CallsWithoutTheRunsCredentialsAreRefused) {
  Serve("learner");
  // No TLS at all: the handshake fails.
  EXPECT_EQ(Check(Channel(grpc::InsecureChannelCredentials())).error_code(), grpc::StatusCode::UNAVAILABLE);
  // TLS with the run's certificate, but no token, or one that is not the run's.
  grpc::Status no_token = Check(Channel(Tls(Dir("coordinator"), Dir("coordinator"), "")));
  EXPECT_EQ(no_token.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(no_token.error_message(), ::testing::HasSubstr("no bearer token"));
  grpc::Status wrong = Check(Channel(Tls(Dir("coordinator"), Dir("coordinator"), std::string(64, 'a'))));
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(wrong.error_message(), ::testing::HasSubstr("not one of this run's"));
  EXPECT_EQ(Train(Channel(Tls(Dir("coordinator"), Dir("coordinator"), Token(foreign_.Join("coordinator"))))),
            grpc::StatusCode::UNAUTHENTICATED);
  // Another run's credentials: its CA does not sign this server's certificate.
  EXPECT_EQ(Check(Channel(Load(foreign_.Join("coordinator"))->ChannelCredentials())).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // The run's CA and token, but a client certificate of another CA: mutual TLS refuses it.
  const std::string token = Token(Dir("coordinator"));
  EXPECT_EQ(Check(Channel(Tls(foreign_.Join("coordinator"), Dir("coordinator"), token))).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(SecurityTest, WithoutMutualTlsAClientCertificateOfAnotherCaStillNeedsTheToken) {
  Serve("learner", /*mutual_tls=*/false);
  const std::string token = Token(Dir("coordinator"));
  EXPECT_EQ(Train(Channel(Tls(foreign_.Join("coordinator"), Dir("coordinator"), token))),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(Train(Channel(Tls(foreign_.Join("coordinator"), Dir("coordinator"), ""))),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(SecurityTest, EachPrincipalMayCallOnlyWhatItsRoleNeeds) {
  Serve("learner");
  for (const char* worker : {"rollout", "scorer", "critic", "learner", "operator"}) {
    EXPECT_EQ(Train(ChannelAs(worker)), grpc::StatusCode::PERMISSION_DENIED) << worker;
    EXPECT_TRUE(Check(ChannelAs(worker)).ok()) << worker;
  }
  for (const char* worker : {"rollout", "scorer", "critic", "learner"}) {
    EXPECT_EQ(Coordinator(ChannelAs(worker), "Register"), grpc::StatusCode::UNIMPLEMENTED) << worker;
    EXPECT_EQ(Coordinator(ChannelAs(worker), "Heartbeat"), grpc::StatusCode::UNIMPLEMENTED) << worker;
    EXPECT_EQ(Coordinator(ChannelAs(worker), "Stop"), grpc::StatusCode::PERMISSION_DENIED) << worker;
    EXPECT_EQ(Coordinator(ChannelAs(worker), "GetStatus"), grpc::StatusCode::PERMISSION_DENIED) << worker;
  }
  for (const char* method : {"Register", "Heartbeat"}) {
    EXPECT_EQ(Coordinator(ChannelAs("operator"), method), grpc::StatusCode::PERMISSION_DENIED) << method;
    EXPECT_EQ(Coordinator(ChannelAs("coordinator"), method), grpc::StatusCode::PERMISSION_DENIED) << method;
  }
  EXPECT_EQ(Coordinator(ChannelAs("operator"), "Stop"), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(Coordinator(ChannelAs("operator"), "GetStatus"), grpc::StatusCode::UNIMPLEMENTED);
}

// StartServer's health-only port: plaintext, without tokens, for probes; it answers Check and
// nothing else, while the services' port refuses the same plaintext caller.
TEST_F(SecurityTest, TheHealthPortAnswersProbesWithoutCredentialsAndNothingElse) {
  v1::Scorer::Service scorer;
  auto server = StartServer({&scorer}, {.security = Load(Dir("scorer")), .health_port = 0});
  ASSERT_THAT(server, IsOk());
  ASSERT_GT((*server)->health_port(), 0);
  grpc::ChannelArguments args;
  const auto plain = [&](int port) {
    return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), args);
  };
  EXPECT_TRUE(Check(plain((*server)->health_port())).ok());
  EXPECT_EQ(Train(plain((*server)->health_port())), grpc::StatusCode::UNIMPLEMENTED);
  grpc::ClientContext watch;
  grpc::health::v1::HealthCheckResponse response;
  auto stream = grpc::health::v1::Health::NewStub(plain((*server)->health_port()))
                    ->Watch(&watch, grpc::health::v1::HealthCheckRequest());
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(Check(plain((*server)->port())).error_code(), grpc::StatusCode::UNAVAILABLE);
  port_ = (*server)->port();
  EXPECT_TRUE(Check(ChannelAs("coordinator")).ok());
  (*server)->Shutdown(std::chrono::system_clock::now());
  EXPECT_EQ(Check(plain((*server)->health_port())).error_code(), grpc::StatusCode::UNAVAILABLE);
}

// Every method of every service of proto/rto/v1, read from the generated descriptors (a new
// method is covered the day it is added), for every principal: exactly the documented ones may
// call it.
TEST(PolicyTest, EveryMethodOfEveryServiceIsAllowedToExactlyItsCallers) {
  const std::set<std::string> workers = {"learner", "critic", "scorer", "rollout"};
  const std::map<std::string, std::set<std::string>> coordinator_methods = {
      {"Register", workers},   {"Heartbeat", workers},   {"GetStatus", {"operator"}},
      {"Pause", {"operator"}}, {"Resume", {"operator"}}, {"Stop", {"operator"}}};
  int checked = 0;
  // Each service through a message of its file (which also links that file's descriptors in).
  const std::vector<std::pair<const char*, const google::protobuf::FileDescriptor*>> services = {
      {"Coordinator", v1::RegisterRequest::descriptor()->file()},
      {"Learner", v1::PolicyExperience::descriptor()->file()},
      {"Critic", v1::ValueExperience::descriptor()->file()},
      {"Scorer", v1::ScoreRequest::descriptor()->file()},
      {"Rollout", v1::GenerateRequest::descriptor()->file()}};
  for (const auto& [service_name, file] : services) {
    const google::protobuf::ServiceDescriptor* service = file->FindServiceByName(service_name);
    ASSERT_NE(service, nullptr) << service_name;
    for (int m = 0; m < service->method_count(); ++m) {
      const std::string name = service->method(m)->name();
      const std::string path = absl::StrCat("/", service->full_name(), "/", name);
      std::set<std::string> allowed = {"coordinator"};
      if (service->name() == "Coordinator") {
        ASSERT_TRUE(coordinator_methods.count(name)) << path << " is not in this test's table";
        allowed = coordinator_methods.at(name);
      }
      for (const std::string& principal : RunPrincipals()) {
        EXPECT_EQ(Authorize(principal, path).ok(), allowed.count(principal) == 1) << principal << " " << path;
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 6 * 23);  // the 23 methods of today, at least
}

TEST(PolicyTest, DeniesWhatItDoesNotList) {
  EXPECT_THAT(Authorize("coordinator", "/rto.v1.Learner/Train"), IsOk());
  EXPECT_THAT(Authorize("coordinator", "/rto.v1.Secret/Anything"),
              StatusIs(absl::StatusCode::kPermissionDenied, "coordinator may not call /rto.v1.Secret/Anything"));
  EXPECT_THAT(Authorize("rollout", "/rto.v1.Rollout/SyncWeights"), StatusIs(absl::StatusCode::kPermissionDenied, ""));
  EXPECT_THAT(Authorize("", "/rto.v1.Coordinator/Register"), StatusIs(absl::StatusCode::kPermissionDenied, ""));
}

TEST(TransportSecurityTest, NamesWhatIsWrongWithTheCredentials) {
  TempDir pki, other;
  ASSERT_THAT(MakeRunPki(pki.path(), {.principals = {"coordinator", "learner"}}), IsOk());
  ASSERT_THAT(MakeRunPki(other.path(), {.principals = {"coordinator"}}), IsOk());
  const std::string dir = pki.Join("learner");
  const auto load = [&] { return TransportSecurity::Load({.dir = dir}).status(); };
  EXPECT_THAT(TransportSecurity::Load({}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "security.plaintext: true"));
  EXPECT_TRUE(TransportSecurity::Load({.plaintext = true}).value()->plaintext());

  const std::string key = ReadFile(dir + "/tls.key");
  WriteFile(dir + "/tls.key", "not a key");
  EXPECT_THAT(load(), StatusIs(absl::StatusCode::kInvalidArgument, "tls.key is not a PEM private key"));
  WriteFile(dir + "/tls.key", ReadFile(pki.Join("coordinator/tls.key")));
  EXPECT_THAT(load(), StatusIs(absl::StatusCode::kInvalidArgument, "tls.key is not the key of"));
  WriteFile(dir + "/tls.key", key);

  const std::string cert = ReadFile(dir + "/tls.crt");
  WriteFile(dir + "/tls.crt", ReadFile(other.Join("coordinator/tls.crt")));
  WriteFile(dir + "/tls.key", ReadFile(other.Join("coordinator/tls.key")));
  EXPECT_THAT(load(), StatusIs(absl::StatusCode::kInvalidArgument, "tls.crt is not signed by"));
  WriteFile(dir + "/tls.crt", cert);
  WriteFile(dir + "/tls.key", key);
  ASSERT_THAT(load(), IsOk());

  const std::string table = ReadFile(dir + "/tokens.sha256");
  WriteFile(dir + "/tokens.sha256", "learner 1234\n");
  EXPECT_THAT(load(), StatusIs(absl::StatusCode::kInvalidArgument, "tokens.sha256 line 1: expected"));
  WriteFile(dir + "/tokens.sha256", table.substr(0, table.find('\n') + 1));  // the coordinator only
  EXPECT_THAT(load(), StatusIs(absl::StatusCode::kInvalidArgument, "is not listed in"));
  WriteFile(dir + "/tokens.sha256", table);
  WriteFile(dir + "/token", "short\n");
  EXPECT_THAT(load(), StatusIs(absl::StatusCode::kInvalidArgument, "at least 32 characters"));
  std::filesystem::remove(dir + "/token");
  EXPECT_THAT(load(), StatusIs(absl::StatusCode::kNotFound, "token"));
}

}  // namespace
}  // namespace rto
