#include "services/coordinator/control_plane.h"

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/rpc/call.h"
#include "common/rpc/server.h"
#include "services/coordinator/worker_agent.h"
#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;
using namespace std::chrono_literals;

// Polls `condition` for up to `timeout`.
template <typename Fn>
bool Eventually(Fn condition, std::chrono::milliseconds timeout = 5s) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

TEST(WorkerRegistryTest, RefusesBadRegistrationsWithTheReason) {
  WorkerRegistry registry(1s);
  EXPECT_THAT(registry.Register("painter", "p", "h:1", 0, 0), StatusIs(absl::StatusCode::kInvalidArgument, "painter"));
  EXPECT_THAT(registry.Register("rollout", "", "h:1", 0, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, "without a name"));
  EXPECT_THAT(registry.Register("rollout", "r", "localhost", 0, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, "not host:port"));
  ASSERT_THAT(registry.Register("rollout", "r", "h:1", 0, 0), IsOk());
  EXPECT_THAT(registry.Register("scorer", "r", "h:2", 0, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, "registered as scorer but is a rollout"));
  EXPECT_EQ(registry.Workers().size(), 1u);
}

TEST(WorkerRegistryTest, ARegistrationUnderTheSameNameReplacesTheWorker) {
  WorkerRegistry registry(1s);
  auto first = registry.Register("rollout", "rollout-0", "h:1", 7, 100);
  ASSERT_THAT(first, IsOk());
  auto second = registry.Register("rollout", "rollout-0", "h:2", 8, 101);
  ASSERT_THAT(second, IsOk());
  EXPECT_NE(first->worker_id, second->worker_id);
  EXPECT_FALSE(registry.Heartbeat(first->worker_id));  // the old process is forgotten
  EXPECT_TRUE(registry.Heartbeat(second->worker_id));
  ASSERT_EQ(registry.Workers().size(), 1u);
  EXPECT_EQ(registry.Workers()[0].address, "h:2");
  EXPECT_FALSE(registry.IsAlive(*first));
  EXPECT_TRUE(registry.IsAlive(*second));
}

TEST(WorkerRegistryTest, AWorkerThatStopsHeartbeatingIsLost) {
  WorkerRegistry registry(100ms);
  auto w = registry.Register("scorer", "scorer-0", "h:1", 0, 0);
  ASSERT_THAT(w, IsOk());
  EXPECT_TRUE(registry.IsAlive(*w));
  std::this_thread::sleep_for(150ms);
  EXPECT_FALSE(registry.IsAlive(*w));
  EXPECT_TRUE(registry.Heartbeat(w->worker_id));
  EXPECT_TRUE(registry.IsAlive(*w));
}

TEST(WorkerRegistryTest, WaitForReturnsOnceEveryRoleHasItsWorkers) {
  WorkerRegistry registry(10s);
  ASSERT_THAT(registry.Register("learner", "learner", "h:1", 0, 0), IsOk());
  std::thread late([&] {
    std::this_thread::sleep_for(50ms);
    ASSERT_THAT(registry.Register("rollout", "rollout-1", "h:3", 0, 0), IsOk());
    ASSERT_THAT(registry.Register("rollout", "rollout-0", "h:2", 0, 0), IsOk());
    ASSERT_THAT(registry.Register("rollout", "rollout-2", "h:4", 0, 0), IsOk());
  });
  auto found = registry.WaitFor({{"learner", 1}, {"rollout", 2}}, 5s, nullptr);
  late.join();
  ASSERT_THAT(found, IsOk());
  ASSERT_EQ((*found)["rollout"].size(), 2u);  // exactly as many as asked for, by name
  EXPECT_EQ((*found)["rollout"][0].name, "rollout-0");
  EXPECT_EQ((*found)["learner"][0].address, "h:1");
}

TEST(WorkerRegistryTest, WaitForNamesWhatIsMissingOrStopsWhenTheCheckFails) {
  WorkerRegistry registry(10s);
  ASSERT_THAT(registry.Register("learner", "learner", "h:1", 0, 0), IsOk());
  EXPECT_THAT(registry.WaitFor({{"learner", 1}, {"rollout", 2}}, 100ms, nullptr),
              StatusIs(absl::StatusCode::kDeadlineExceeded, "2 rollout worker(s)"));
  int checks = 0;
  auto failed = registry.WaitFor({{"rollout", 1}}, 10s, [&]() -> absl::Status {
    return ++checks < 3 ? absl::OkStatus() : absl::UnavailableError("rollout-0 died");
  });
  EXPECT_THAT(failed, StatusIs(absl::StatusCode::kUnavailable, "rollout-0 died"));
}

TEST(WorkerRegistryTest, WaitForNewSkipsTheWorkersAlreadyTaken) {
  WorkerRegistry registry(10s);
  auto a = registry.Register("rollout", "a", "h:1", 0, 0);
  ASSERT_THAT(a, IsOk());
  EXPECT_THAT(registry.WaitForNew("rollout", {a->worker_id}, 50ms, nullptr),
              StatusIs(absl::StatusCode::kDeadlineExceeded, "no new rollout"));
  std::thread late([&] {
    std::this_thread::sleep_for(50ms);
    ASSERT_THAT(registry.Register("rollout", "b", "h:2", 0, 0), IsOk());
  });
  auto b = registry.WaitForNew("rollout", {a->worker_id}, 5s, nullptr);
  late.join();
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(b->name, "b");
}

TEST(WorkerRegistryTest, WaitForNewOfARankTakesOnlyThatRank) {
  WorkerRegistry registry(10s);
  ASSERT_THAT(registry.Register("learner", "learner-1", "h:1", 0, 0, /*rank=*/1), IsOk());
  EXPECT_THAT(registry.WaitForNew("learner", {}, 50ms, nullptr, /*rank=*/0),
              StatusIs(absl::StatusCode::kDeadlineExceeded, "no new learner rank 0"));
  ASSERT_THAT(registry.Register("learner", "learner-0", "h:2", 0, 0, /*rank=*/0), IsOk());
  auto rank0 = registry.WaitForNew("learner", {}, 1s, nullptr, /*rank=*/0);
  ASSERT_THAT(rank0, IsOk());
  EXPECT_EQ(rank0->name, "learner-0");
  EXPECT_THAT(registry.Register("learner", "x", "h:3", 0, 0, /*rank=*/-1),
              StatusIs(absl::StatusCode::kInvalidArgument, "registered rank -1"));
}

// An evicted worker is forgotten for good: its heartbeats say so, and a new registration under
// its name is another worker.
TEST(WorkerRegistryTest, AnEvictedWorkerIsToldSoAndNotAlive) {
  WorkerRegistry registry(10s);
  auto w = registry.Register("critic", "critic", "h:1", 0, 0);
  ASSERT_THAT(w, IsOk());
  registry.Evict(*w);
  EXPECT_FALSE(registry.IsAlive(*w));
  EXPECT_FALSE(registry.Heartbeat(w->worker_id));
  EXPECT_TRUE(registry.Evicted(w->worker_id));
  EXPECT_TRUE(registry.Workers().empty());
  auto fresh = registry.Register("critic", "critic", "h:2", 0, 0);
  ASSERT_THAT(fresh, IsOk());
  EXPECT_FALSE(registry.Evicted(fresh->worker_id));
}

TEST(RunControlTest, RecoveriesAreListedWithTheirStep) {
  RunControl control;
  control.Progress(3, 3, {});
  control.Recovered("learner lost");
  control.Progress(5, 5, {});
  control.Recovered("back at step 3");
  EXPECT_EQ(control.Snapshot().recoveries,
            (std::vector<std::string>{"step 3: learner lost", "step 5: back at step 3"}));
}

TEST(RunControlTest, PauseHoldsTheLoopBetweenStepsUntilResume) {
  RunControl control;
  control.Start(0, 10);
  EXPECT_EQ(control.Snapshot().state, RunState::kRunning);
  EXPECT_FALSE(control.BetweenSteps());
  control.Pause();
  EXPECT_EQ(control.Snapshot().state, RunState::kPausing);  // the step under way finishes
  std::atomic<bool> returned = false;
  std::future<bool> loop = std::async(std::launch::async, [&] {
    const bool stop = control.BetweenSteps();
    returned = true;
    return stop;
  });
  ASSERT_TRUE(Eventually([&] { return control.Snapshot().state == RunState::kPaused; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(returned);
  control.Resume();
  EXPECT_FALSE(loop.get());
  EXPECT_EQ(control.Snapshot().state, RunState::kRunning);
}

TEST(RunControlTest, StopEndsAPauseAndTheRunEndsStopped) {
  RunControl control;
  control.Start(0, 10);
  control.Pause();
  std::future<bool> loop = std::async(std::launch::async, [&] { return control.BetweenSteps(); });
  ASSERT_TRUE(Eventually([&] { return control.Snapshot().state == RunState::kPaused; }));
  control.Stop();
  EXPECT_TRUE(loop.get());
  EXPECT_EQ(control.Snapshot().state, RunState::kStopping);
  control.Progress(4, 4, {{"reward/rm_score", 1.5}});
  control.End(absl::OkStatus());
  const RunSnapshot s = control.Snapshot();
  EXPECT_EQ(s.state, RunState::kStopped);
  EXPECT_EQ(s.step, 4);
  EXPECT_EQ(s.last_metrics.at("reward/rm_score"), 1.5);
}

TEST(RunControlTest, TheRunEndsFinishedOrFailedWithTheReason) {
  RunControl finished;
  finished.Start(0, 2);
  finished.Progress(2, 2, {});
  finished.End(absl::OkStatus());
  EXPECT_EQ(finished.Snapshot().state, RunState::kFinished);
  RunControl failed;
  failed.Start(0, 2);
  failed.End(absl::UnavailableError("scorer-0 died"));
  EXPECT_EQ(failed.Snapshot().state, RunState::kFailed);
  EXPECT_EQ(failed.Snapshot().error, "scorer-0 died");
}

TEST(ControlPlaneTest, TheRegistryIsBoundedAndForgetsSilentWorkersFirst) {
  WorkerRegistry registry(300ms);
  for (int i = 0; i < WorkerRegistry::kMaxWorkersPerRole; ++i) {
    ASSERT_THAT(registry.Register("rollout", absl::StrCat("r", i), "10.0.0.1:1", 0, 0), IsOk());
  }
  EXPECT_THAT(registry.Register("rollout", "one-too-many", "10.0.0.1:1", 0, 0),
              StatusIs(absl::StatusCode::kResourceExhausted, "256 rollout workers are registered and alive"));
  EXPECT_THAT(registry.Register("scorer", "s", "10.0.0.1:1", 0, 0), IsOk());  // per role
  std::this_thread::sleep_for(400ms);                                         // all silent now
  EXPECT_THAT(registry.Register("rollout", "one-too-many", "10.0.0.1:1", 0, 0), IsOk());
  EXPECT_EQ(registry.Workers().size(), 2u);
  EXPECT_THAT(registry.Register("rollout", std::string(257, 'n'), "10.0.0.1:1", 0, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, "at most 256 bytes"));
  EXPECT_THAT(registry.Register("rollout", "n", "10.0.0.1:" + std::string(300, '1'), 0, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, "at most 256 bytes"));
}

// A coordinator server on a port, as `rto coordinator` runs it.
struct CoordinatorServer {
  explicit CoordinatorServer(int port_wanted = 0)
      : registry(300ms), service(registry, control, 20ms, "runs/x", nullptr) {
    auto s = StartServer({&service}, {.host = "127.0.0.1", .port = port_wanted});
    EXPECT_THAT(s, IsOk());
    if (s.ok()) {
      server = std::move(*s);
      port = server->port();
    }
  }
  WorkerRegistry registry;
  RunControl control;
  CoordinatorService service;
  std::unique_ptr<RpcServer> server;
  int port = 0;
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

WorkerAgentOptions AgentOptions(const std::string& coordinator) {
  return {.coordinator = coordinator,
          .role = "rollout",
          .name = "rollout-0",
          .address = "127.0.0.1:5555",
          .metrics_port = 9,
          .retry = std::chrono::milliseconds(20)};
}

TEST(ControlPlaneTest, AWorkerRegistersHeartbeatsAndLearnsWhenTheRunIsOver) {
  CoordinatorServer coordinator;
  WorkerAgent agent(AgentOptions(coordinator.address()));
  ASSERT_TRUE(Eventually([&] { return coordinator.registry.Workers().size() == 1; }));
  const WorkerInfo w = coordinator.registry.Workers()[0];
  EXPECT_EQ(w.role, "rollout");
  EXPECT_EQ(w.address, "127.0.0.1:5555");
  EXPECT_EQ(w.metrics_port, 9);
  EXPECT_GT(w.pid, 0);
  // Heartbeats keep it alive well past the 300 ms timeout.
  std::this_thread::sleep_for(600ms);
  EXPECT_TRUE(coordinator.registry.IsAlive(w));
  EXPECT_FALSE(agent.shutdown_requested());
  coordinator.registry.set_shutdown();
  EXPECT_TRUE(Eventually([&] { return agent.shutdown_requested(); }));
}

TEST(ControlPlaneTest, AnEvictedWorkerLearnsItAtItsNextHeartbeat) {
  CoordinatorServer coordinator;
  WorkerAgent agent(AgentOptions(coordinator.address()));
  ASSERT_TRUE(Eventually([&] { return coordinator.registry.Workers().size() == 1; }));
  EXPECT_FALSE(agent.evicted());
  coordinator.registry.Evict(coordinator.registry.Workers()[0]);
  EXPECT_TRUE(Eventually([&] { return agent.evicted() && agent.shutdown_requested(); }));
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(coordinator.registry.Workers().empty()) << "an evicted worker does not register again";
}

TEST(ControlPlaneTest, AWorkerStartedBeforeTheCoordinatorRegistersWhenItComesUp) {
  int port = 0;
  {
    CoordinatorServer probe;  // find a free port, then free it
    port = probe.port;
  }
  WorkerAgent agent(AgentOptions("127.0.0.1:" + std::to_string(port)));
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(agent.registered());
  CoordinatorServer coordinator(port);
  EXPECT_TRUE(Eventually([&] { return coordinator.registry.Workers().size() == 1; }));
  // The registry knows the worker as soon as the coordinator has answered; the agent once it has
  // read the answer.
  EXPECT_TRUE(Eventually([&] { return agent.registered(); }));
}

TEST(ControlPlaneTest, AWorkerRegistersAgainWithARestartedCoordinator) {
  auto first = std::make_unique<CoordinatorServer>();
  const int port = first->port;
  WorkerAgent agent(AgentOptions(first->address()));
  ASSERT_TRUE(Eventually([&] { return first->registry.Workers().size() == 1; }));
  first->server->Shutdown(std::chrono::system_clock::now());
  first.reset();
  CoordinatorServer second(port);  // knows nobody: the agent's heartbeat gets known = false
  EXPECT_TRUE(Eventually([&] { return second.registry.Workers().size() == 1; }));
  EXPECT_TRUE(second.registry.IsAlive(second.registry.Workers()[0]));
}

// The coordinator tells a worker's process from a new one at the same address (a container
// restarted in place keeps its IP and port) by asking for health under the registration's id.
TEST(ControlPlaneTest, AWorkersHealthAnswersForItsRegistrationOnlyInThatProcess) {
  CoordinatorServer coordinator;
  auto worker = std::make_unique<CoordinatorServer>();  // any server: the worker's
  const int port = worker->port;
  WorkerAgentOptions options = AgentOptions(coordinator.address());
  options.address = worker->address();
  options.on_registered = [server = worker->server.get()](const std::string& id) { server->SetServing(id); };
  auto agent = std::make_unique<WorkerAgent>(options);
  ASSERT_TRUE(Eventually([&] { return coordinator.registry.Workers().size() == 1; }));
  const std::string id = coordinator.registry.Workers()[0].worker_id;
  EXPECT_THAT(WaitHealthy(Connect(worker->address(), {}), "worker", 2s, id), IsOk());
  agent.reset();
  worker.reset();
  CoordinatorServer restarted(port);  // the same address, another process
  EXPECT_THAT(WaitHealthy(Connect(restarted.address(), {}), "worker", 2s), IsOk());
  EXPECT_THAT(WaitHealthy(Connect(restarted.address(), {}), "worker", 300ms, id),
              StatusIs(absl::StatusCode::kDeadlineExceeded, "worker did not become healthy"));
}

TEST(ControlPlaneTest, StatusPauseResumeAndStopOverGrpc) {
  CoordinatorServer coordinator;
  coordinator.control.Start(3, 10);
  WorkerAgent agent(AgentOptions(coordinator.address()));
  ASSERT_TRUE(Eventually([&] { return coordinator.registry.Workers().size() == 1; }));
  auto stub = v1::Coordinator::NewStub(grpc::CreateChannel(coordinator.address(), grpc::InsecureChannelCredentials()));
  auto call = [&](auto method) {
    grpc::ClientContext context;
    v1::RunStatus status;
    EXPECT_TRUE(((*stub).*method)(&context, v1::ControlRequest(), &status).ok());
    return status;
  };
  grpc::ClientContext context;
  v1::RunStatus status;
  ASSERT_TRUE(stub->GetStatus(&context, v1::GetStatusRequest(), &status).ok());
  EXPECT_EQ(status.state(), v1::RunStatus::RUNNING);
  EXPECT_EQ(status.step(), 3);
  EXPECT_EQ(status.total_steps(), 10);
  EXPECT_EQ(status.run_dir(), "runs/x");
  ASSERT_EQ(status.workers_size(), 1);
  EXPECT_EQ(status.workers(0).name(), "rollout-0");
  EXPECT_TRUE(status.workers(0).alive());
  EXPECT_EQ(call(&v1::Coordinator::Stub::Pause).state(), v1::RunStatus::PAUSING);
  EXPECT_EQ(call(&v1::Coordinator::Stub::Resume).state(), v1::RunStatus::RUNNING);
  EXPECT_EQ(call(&v1::Coordinator::Stub::Stop).state(), v1::RunStatus::STOPPING);
  EXPECT_TRUE(coordinator.control.BetweenSteps());  // the loop sees the stop
  // A bad registration is refused with the reason, and the service keeps serving.
  grpc::ClientContext bad_context;
  v1::RegisterRequest bad;
  bad.set_role("rollout");
  bad.set_name("x");
  bad.set_address("nowhere");
  v1::RegisterResponse response;
  const grpc::Status refused = stub->Register(&bad_context, bad, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refused.error_message().find("not host:port"), std::string::npos);
  EXPECT_EQ(call(&v1::Coordinator::Stub::Resume).state(), v1::RunStatus::STOPPING);  // stop is final
}

}  // namespace
}  // namespace rto
