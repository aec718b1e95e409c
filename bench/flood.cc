// A bounded flood of a running `rto launch` (bench/flood.sh): many threads call its rollout
// worker, scorer and coordinator at once, with the run's own credentials (a buggy or hostile
// insider) and without them, with small, malformed and oversize messages, and count the answers
// by code. Every answer must be one a server gives on purpose; anything else (INTERNAL, UNKNOWN,
// a lost connection) fails the flood.
//
//   flood --run DIR --threads N --seconds S --oversize-mb M
//
// Calls, each thread cycling through them:
//   generate       a valid request of the coordinator's: OK, or RESOURCE_EXHAUSTED (mailbox full)
//   generate-bad   a prompt of float tokens: INVALID_ARGUMENT
//   generate-huge  a prompt over the message limit: RESOURCE_EXHAUSTED
//   score-bad      lengths that disagree: INVALID_ARGUMENT
//   register       fake rollout workers: OK, then RESOURCE_EXHAUSTED (the registry's bound)
//   register-bad   a name of 300 bytes: INVALID_ARGUMENT
//   impostor       a rollout's credentials registering a learner: PERMISSION_DENIED
//   no-token       TLS without a token: UNAUTHENTICATED
//   plaintext      no TLS: UNAVAILABLE
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/rpc/call.h"
#include "common/rpc/wire.h"
#include "common/security/transport_security.h"
#include "common/util/args.h"
#include "common/util/file.h"
#include "nlohmann/json.hpp"
#include "rto/v1/coordinator.grpc.pb.h"
#include "rto/v1/rollout.grpc.pb.h"
#include "rto/v1/scorer.grpc.pb.h"

namespace rto {
namespace {

using grpc::StatusCode;

struct Tally {
  std::mutex mu;
  std::map<std::string, std::map<std::string, int64_t>> by_call;  // call -> code -> count
  void Add(const std::string& call, StatusCode code) {
    std::lock_guard<std::mutex> lock(mu);
    ++by_call[call][absl::StatusCodeToString(static_cast<absl::StatusCode>(code))];
  }
};

std::shared_ptr<const TransportSecurity> Credentials(const std::string& run, const std::string& principal) {
  auto s = TransportSecurity::Load({.dir = run + "/security/" + principal});
  if (!s.ok()) {
    std::cerr << "flood: " << s.status().message() << "\n";
    std::exit(2);
  }
  return *s;
}

std::shared_ptr<grpc::Channel> Channel(const std::string& address, std::shared_ptr<grpc::ChannelCredentials> c) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  // Each thread its own connection, as separate clients would have.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, c, args);
}

template <typename Call>
StatusCode Timed(Call call) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return call(context).error_code();
}

v1::GenerateRequest Generate(int64_t prompt_tokens, bool float_tokens) {
  v1::GenerateRequest r;
  v1::Prompt* p = r.add_prompts();
  p->set_prompt_id(0);
  if (float_tokens) {
    wire::PackF32(std::vector<float>(prompt_tokens, 1.5f), p->mutable_tokens());
  } else {
    wire::PackI64(std::vector<int64_t>(prompt_tokens, 1), p->mutable_tokens());
  }
  r.set_samples_per_prompt(1);
  r.mutable_sampling()->set_temperature(1);
  r.mutable_sampling()->set_top_p(1);
  r.mutable_sampling()->set_max_new_tokens(4);
  return r;
}

StatusCode Stream(v1::Rollout::Stub& stub, const v1::GenerateRequest& request) {
  return Timed([&](grpc::ClientContext& c) {
    auto reader = stub.Generate(&c, request);
    v1::GenerateResponse response;
    while (reader->Read(&response)) {
    }
    return reader->Finish();
  });
}

int Run(const std::vector<std::string>& argv) {
  auto args = Args::Parse(argv, {"run", "threads", "seconds", "oversize-mb"});
  if (!args.ok()) {
    std::cerr << "flood: " << args.status().message() << "\n";
    return 2;
  }
  const std::string run = args->GetString("run", "");
  const int threads = static_cast<int>(args->GetInt("threads", 16).value_or(16));
  const int seconds = static_cast<int>(args->GetInt("seconds", 20).value_or(20));
  const int64_t oversize = args->GetInt("oversize-mb", 8).value_or(8) << 20;
  const nlohmann::json where = nlohmann::json::parse(*ReadFileToString(run + "/logs/coordinator.json"));
  const std::string coordinator = where["address"];
  // The workers' addresses, as the operator sees them.
  auto status_stub = v1::Coordinator::NewStub(Connect(coordinator, {.security = Credentials(run, "operator")}));
  v1::RunStatus status;
  grpc::ClientContext sc;
  if (!status_stub->GetStatus(&sc, v1::GetStatusRequest(), &status).ok()) return 2;
  std::string rollout, scorer;
  for (const v1::WorkerStatus& w : status.workers()) {
    if (w.role() == "rollout" && rollout.empty()) rollout = w.address();
    if (w.role() == "scorer" && scorer.empty()) scorer = w.address();
  }
  const auto as_coordinator = Credentials(run, "coordinator");
  const auto as_rollout = Credentials(run, "rollout");
  grpc::SslCredentialsOptions tls_only;
  tls_only.pem_root_certs = *ReadFileToString(run + "/security/operator/ca.crt");
  tls_only.pem_private_key = *ReadFileToString(run + "/security/operator/tls.key");
  tls_only.pem_cert_chain = *ReadFileToString(run + "/security/operator/tls.crt");

  Tally tally;
  std::atomic<int64_t> next_name = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto rollout_stub = v1::Rollout::NewStub(Channel(rollout, as_coordinator->ChannelCredentials()));
      auto scorer_stub = v1::Scorer::NewStub(Channel(scorer, as_coordinator->ChannelCredentials()));
      auto worker_stub = v1::Coordinator::NewStub(Channel(coordinator, as_rollout->ChannelCredentials()));
      auto no_token = v1::Coordinator::NewStub(Channel(coordinator, grpc::SslCredentials(tls_only)));
      auto plaintext = v1::Rollout::NewStub(Channel(rollout, grpc::InsecureChannelCredentials()));
      const v1::GenerateRequest small = Generate(8, false), bad = Generate(8, true),
                                huge = Generate(oversize / 8 + 1, false);
      v1::ScoreRequest score_bad;
      v1::Trajectory* tr = score_bad.mutable_batch()->add_trajectories();
      wire::PackI64({1, 2}, tr->mutable_prompt());
      wire::PackI64({3, 4, 5}, tr->mutable_response());
      wire::PackF32({-1}, tr->mutable_logprobs());  // 1 log-prob for 3 tokens
      for (int i = t; std::chrono::steady_clock::now() < end; ++i) {
        switch (i % 9) {
          case 0: tally.Add("generate", Stream(*rollout_stub, small)); break;
          case 1: tally.Add("generate-bad", Stream(*rollout_stub, bad)); break;
          case 2: tally.Add("generate-huge", Stream(*rollout_stub, huge)); break;
          case 3:
            tally.Add("score-bad", Timed([&](grpc::ClientContext& c) {
                        v1::ScoreResponse r;
                        return scorer_stub->Score(&c, score_bad, &r);
                      }));
            break;
          case 4:
          case 5:
          case 6: {
            v1::RegisterRequest r;
            r.set_role(i % 9 == 6 ? "learner" : "rollout");
            r.set_name(i % 9 == 5 ? std::string(300, 'n') : absl::StrCat("flood-", next_name++));
            r.set_address("127.0.0.1:9");
            const char* call = i % 9 == 4 ? "register" : i % 9 == 5 ? "register-bad" : "impostor";
            tally.Add(call, Timed([&](grpc::ClientContext& c) {
                        v1::RegisterResponse response;
                        return worker_stub->Register(&c, r, &response);
                      }));
            break;
          }
          case 7:
            tally.Add("no-token", Timed([&](grpc::ClientContext& c) {
                        v1::RunStatus s;
                        return no_token->GetStatus(&c, v1::GetStatusRequest(), &s);
                      }));
            break;
          default: tally.Add("plaintext", Stream(*plaintext, small)); break;
        }
      }
    });
  }
  for (std::thread& t : pool) t.join();

  // What each call may answer.
  const std::map<std::string, std::set<std::string>> expected = {
      {"generate", {"OK", "RESOURCE_EXHAUSTED"}},
      {"generate-bad", {"INVALID_ARGUMENT", "RESOURCE_EXHAUSTED"}},
      {"generate-huge", {"RESOURCE_EXHAUSTED"}},
      {"score-bad", {"INVALID_ARGUMENT", "RESOURCE_EXHAUSTED"}},
      {"register", {"OK", "RESOURCE_EXHAUSTED"}},
      {"register-bad", {"INVALID_ARGUMENT"}},
      {"impostor", {"PERMISSION_DENIED"}},
      {"no-token", {"UNAUTHENTICATED"}},
      {"plaintext", {"UNAVAILABLE"}}};
  int64_t total = 0, refused = 0, unexpected = 0;
  std::cout << "| call | answers |\n|---|---|\n";
  for (const auto& [call, codes] : tally.by_call) {
    std::string line;
    for (const auto& [code, n] : codes) {
      absl::StrAppend(&line, line.empty() ? "" : ", ", code, " ", n);
      total += n;
      if (code != "OK") refused += n;
      if (!expected.at(call).count(code)) unexpected += n;
    }
    std::cout << "| " << call << " | " << line << " |\n";
  }
  std::cout << absl::StrFormat("flood: %d threads, %d s: %d calls, %d refused, %d unexpected answers\n", threads,
                               seconds, total, refused, unexpected);
  return unexpected == 0 && total > 0 ? 0 : 1;
}

}  // namespace
}  // namespace rto

int main(int argc, char** argv) { return rto::Run(std::vector<std::string>(argv + 1, argv + argc)); }
