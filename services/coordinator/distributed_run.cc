#include "services/coordinator/distributed_run.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/rpc/call.h"
#include "common/rpc/metrics.h"
#include "common/rpc/server.h"
#include "common/rpc/weight_plan.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "services/coordinator/control_plane.h"
#include "services/coordinator/data_parallel_roles.h"
#include "services/critic/critic_client.h"
#include "services/learner/learner_client.h"
#include "services/rollout/rollout_client.h"
#include "services/scorer/scorer_client.h"

namespace rto {
namespace {

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

// The host part of host:port.
std::string HostOf(const std::string& address) { return address.substr(0, address.rfind(':')); }

// One distributed run, stage by stage (Run). Its state lives on the thread that calls Run; the
// control plane's gRPC threads touch only the registry and the run control, which are
// thread-safe.
class DistributedRun {
 public:
  DistributedRun(const RtoJobConfig& cfg, const std::string& resolved, bool resume, LocalProcesses* local)
      : cfg_(cfg),
        resolved_(resolved),
        resume_(resume),
        local_(local),
        registry_(Millis(cfg.launch.heartbeat_timeout_s)),
        with_critic_(cfg.coordinator.estimator == AdvantageEstimator::kGae) {
    client_.deadline = Millis(cfg.launch.rpc_deadline_s);
    client_.max_message_bytes = cfg.launch.max_message_mb << 20;
  }

  absl::Status Run(const CoordinatorEndpoint& endpoint) {
    RTO_RETURN_IF_ERROR(ServeControlPlane(endpoint));
    RTO_RETURN_IF_ERROR(StartLocalWorkers());
    RTO_RETURN_IF_ERROR(WaitForWorkers());
    RTO_RETURN_IF_ERROR(ConnectToWorkers());
    absl::Status run = DriveTheLoop();
    control_.End(run);
    if (!run.ok()) return ExplainFailure(run);
    // Workers learn from their next heartbeat that the run is over and exit.
    registry_.set_shutdown();
    if (local_ == nullptr) std::this_thread::sleep_for(2 * Millis(cfg_.launch.heartbeat_s));
    return absl::OkStatus();
  }

 private:
  // The Coordinator gRPC service and the metrics endpoint; <out>/logs/coordinator.json says where
  // they are (for `rto ctl --run DIR`).
  absl::Status ServeControlPlane(const CoordinatorEndpoint& endpoint) {
    RTO_ASSIGN_OR_RETURN(metrics_, ServiceMetrics::Start("coordinator", endpoint.host, endpoint.metrics_port));
    service_ = std::make_unique<CoordinatorService>(registry_, control_, Millis(cfg_.launch.heartbeat_s), cfg_.out,
                                                    metrics_.get());
    int port = 0;
    RTO_ASSIGN_OR_RETURN(server_, StartServer({service_.get()},
                                              {.host = endpoint.host,
                                               .port = endpoint.port,
                                               .max_message_bytes = cfg_.launch.max_message_mb << 20},
                                              &port));
    address_ = absl::StrCat(endpoint.advertise.empty() ? endpoint.host : endpoint.advertise, ":", port);
    const nlohmann::json where = {{"address", address_}, {"port", port}, {"metrics_port", metrics_->port()}};
    RTO_RETURN_IF_ERROR(WriteFileAtomically(cfg_.out + "/logs/coordinator.json", where.dump() + "\n"));
    std::cerr << "coordinator: serving on " << address_ << ", metrics on port " << metrics_->port() << "\n";
    // Counters exist from the start, so that dashboards show a zero rather than no data.
    steps_total_ = &metrics_->Counter(metric::kSteps);
    restarts_total_ = &metrics_->Counter(metric::kWorkerRestarts);
    return absl::OkStatus();
  }

  // The N data-parallel processes of a trained role: <role>-<rank>, meeting at a store rank 0
  // hosts on a free port (one process named <role> when N is 1).
  absl::Status SpawnRanks(const std::string& role, int64_t ranks) {
    if (ranks == 1) return local_->Spawn(role, -1, address_);
    RTO_ASSIGN_OR_RETURN(int port, FreePort(cfg_.launch.host));
    for (int r = 0; r < ranks; ++r) {
      RTO_RETURN_IF_ERROR(local_->Spawn(
          role, r, address_, {"--rank", absl::StrCat(r), "--rendezvous", absl::StrCat(cfg_.launch.host, ":", port)}));
    }
    return absl::OkStatus();
  }

  absl::Status StartLocalWorkers() {
    if (local_ == nullptr) return absl::OkStatus();
    RTO_RETURN_IF_ERROR(SpawnRanks("learner", cfg_.launch.learner_ranks));
    if (with_critic_) RTO_RETURN_IF_ERROR(SpawnRanks("critic", cfg_.launch.critic_ranks));
    for (int i = 0; i < cfg_.launch.scorer_replicas; ++i) RTO_RETURN_IF_ERROR(local_->Spawn("scorer", i, address_));
    for (int i = 0; i < cfg_.launch.rollout_workers; ++i) RTO_RETURN_IF_ERROR(local_->Spawn("rollout", i, address_));
    return absl::OkStatus();
  }

  // While waiting for workers: a local service that died, or a stop request, ends the wait.
  absl::Status CheckWhileWaiting() {
    if (local_ != nullptr) RTO_RETURN_IF_ERROR(local_->CheckAlive());
    if (control_.stop_requested()) return absl::CancelledError("stopped while waiting for workers");
    return absl::OkStatus();
  }

  absl::Status WaitForWorkers() {
    std::map<std::string, int> counts = {{"learner", static_cast<int>(cfg_.launch.learner_ranks)},
                                         {"scorer", static_cast<int>(cfg_.launch.scorer_replicas)},
                                         {"rollout", static_cast<int>(cfg_.launch.rollout_workers)}};
    if (with_critic_) counts["critic"] = static_cast<int>(cfg_.launch.critic_ranks);
    RTO_ASSIGN_OR_RETURN(workers_, registry_.WaitFor(counts, Millis(cfg_.launch.startup_timeout_s),
                                                     [this] { return CheckWhileWaiting(); }));
    for (const char* role : {"learner", "critic"}) RTO_RETURN_IF_ERROR(OrderByRank(role));
    for (const auto& [role, list] : workers_) {
      for (const WorkerInfo& w : list) std::cerr << "coordinator: " << w.name << " at " << w.address << "\n";
    }
    return absl::OkStatus();
  }

  // workers_[role][r] becomes rank r; every rank must be there once.
  absl::Status OrderByRank(const std::string& role) {
    std::vector<WorkerInfo>& list = workers_[role];
    std::sort(list.begin(), list.end(), [](const WorkerInfo& a, const WorkerInfo& b) { return a.rank < b.rank; });
    for (size_t r = 0; r < list.size(); ++r) {
      if (list[r].rank != static_cast<int>(r)) {
        return absl::InvalidArgumentError(absl::StrCat("the ", list.size(), " ", role, " workers registered ranks ",
                                                       RankList(list), "; expected 0 to ", list.size() - 1, " once"));
      }
    }
    return absl::OkStatus();
  }

  static std::string RankList(const std::vector<WorkerInfo>& list) {
    std::string out;
    for (const WorkerInfo& w : list) absl::StrAppend(&out, out.empty() ? "" : ", ", w.rank, " (", w.name, ")");
    return out;
  }

  // The learner's ranks as one Learner (rank 0 alone when there is one).
  absl::Status ConnectToLearner() {
    std::vector<Learner*> ranks;
    for (const WorkerInfo& w : workers_["learner"]) {
      RTO_ASSIGN_OR_RETURN(std::unique_ptr<RemoteLearner> rank,
                           RemoteLearner::Create(Connect(w.address, client_), client_, plan_));
      if (ranks.empty()) plan_->set_store_port(rank->store_port());
      ranks.push_back(rank.get());
      learner_ranks_.push_back(std::move(rank));
    }
    if (ranks.size() > 1) learner_group_ = std::make_unique<DataParallelLearner>(ranks);
    learner_ = ranks.size() > 1 ? learner_group_.get() : ranks[0];
    return absl::OkStatus();
  }

  void ConnectToCritic() {
    if (!with_critic_) return;
    std::vector<Critic*> ranks;
    for (const WorkerInfo& w : workers_["critic"]) {
      critic_ranks_.push_back(std::make_unique<RemoteCritic>(Connect(w.address, client_), client_));
      ranks.push_back(critic_ranks_.back().get());
    }
    if (ranks.size() > 1) critic_group_ = std::make_unique<DataParallelCritic>(ranks);
    critic_ = ranks.size() > 1 ? critic_group_.get() : ranks[0];
  }

  std::unique_ptr<RemoteRollout> RolloutClient(const WorkerInfo& worker, size_t slot) {
    return std::make_unique<RemoteRollout>(Connect(worker.address, client_), client_, plan_,
                                           static_cast<int>(slot) + 1);
  }

  // The gRPC clients of the role interfaces, and the weight group's first generation (the
  // learner, rank 0, hosts its store; rollout slot i is rank i + 1).
  absl::Status ConnectToWorkers() {
    WeightGroupOptions group;
    group.store_host = HostOf(workers_["learner"][0].address);
    group.timeout = Millis(cfg_.launch.weight_sync_timeout_s);
    group.bucket_bytes = cfg_.launch.bucket_mb << 20;
    group.shared_memory = cfg_.launch.weight_transport == "auto";
    plan_ = std::make_shared<WeightPlan>(group);
    RTO_RETURN_IF_ERROR(ConnectToLearner());
    plan_->Reform(1 + static_cast<int>(cfg_.launch.rollout_workers));
    rollout_slots_ = workers_["rollout"];
    std::vector<std::unique_ptr<RemoteRollout>> rollouts;
    for (size_t i = 0; i < rollout_slots_.size(); ++i) rollouts.push_back(RolloutClient(rollout_slots_[i], i));
    rollout_ = std::make_unique<RolloutPool>(std::move(rollouts));
    std::vector<std::unique_ptr<Scorer>> scorers;
    for (const WorkerInfo& w : workers_["scorer"]) {
      scorers.push_back(std::make_unique<RemoteScorer>(Connect(w.address, client_), client_));
    }
    scorer_ = std::make_unique<ScorerPool>(std::move(scorers));
    ConnectToCritic();
    return absl::OkStatus();
  }

  // A rollout worker that stopped answering gives its slot to the next rollout worker that
  // registers (under `rto launch`, a new process this launcher starts); a new weight-group
  // generation brings it the current weights.
  absl::Status ReplaceLostRollouts() {
    if (local_ != nullptr) RTO_RETURN_IF_ERROR(local_->RestartExited("rollout").status());
    std::set<std::string> taken;
    std::vector<size_t> lost;
    for (size_t i = 0; i < rollout_slots_.size(); ++i) {
      const WorkerInfo& w = rollout_slots_[i];
      taken.insert(w.worker_id);
      const bool answers =
          registry_.IsAlive(w) && WaitHealthy(Connect(w.address, client_), w.name, std::chrono::seconds(2)).ok();
      if (!answers) lost.push_back(i);
    }
    if (lost.empty()) return absl::UnavailableError("the rollout failed but every worker answers");
    for (size_t i : lost) {
      std::cerr << "coordinator: " << rollout_slots_[i].name << " is lost; waiting for a replacement\n";
      RTO_ASSIGN_OR_RETURN(WorkerInfo w, registry_.WaitForNew("rollout", taken, Millis(cfg_.launch.startup_timeout_s),
                                                              [this] { return CheckWhileWaiting(); }));
      std::cerr << "coordinator: " << w.name << " at " << w.address << " takes its place\n";
      taken.insert(w.worker_id);
      rollout_slots_[i] = w;
      rollout_->Replace(i, RolloutClient(w, i));
    }
    plan_->Reform(1 + static_cast<int>(rollout_slots_.size()));
    restarts_total_->Increment(lost.size());
    return absl::OkStatus();
  }

  // Every step's metrics as gauges, the step counter, and `rto ctl status`.
  void ObserveStep(const Coordinator& coordinator, const Metrics& m) {
    for (const auto& [key, value] : m) {
      metrics_->StepGauge(key).Set(value);
    }
    steps_total_->Increment();
    control_.Progress(coordinator.step(), learner_->version(), m);
  }

  // After the last sync every worker must hold exactly the learner's weights.
  absl::Status VerifyWorkerWeights() {
    RTO_ASSIGN_OR_RETURN(WeightsFingerprint reference, learner_->Fingerprint());
    for (size_t i = 0; i < rollout_->workers().size(); ++i) {
      RTO_ASSIGN_OR_RETURN(WeightsFingerprint worker, rollout_->workers()[i]->Fingerprint());
      if (worker.hash != reference.hash || worker.version != reference.version) {
        return absl::InternalError(absl::StrCat(rollout_slots_[i].name, " holds weights ", worker.hash, " (version ",
                                                worker.version, ") but the learner ", reference.hash, " (version ",
                                                reference.version, ")"));
      }
    }
    const int64_t ranks = cfg_.launch.learner_ranks;
    std::cerr << "coordinator: weights verified: the learner and " << rollout_->workers().size()
              << " rollout workers hold version " << reference.version << " (hash " << std::hex << reference.hash
              << std::dec << ")" << (ranks > 1 ? absl::StrCat(", as every one of the learner's ", ranks, " ranks") : "")
              << "\n";
    return absl::OkStatus();
  }

  absl::Status DriveTheLoop() {
    RTO_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, LoadTokenizer(cfg_.models.policy));
    RTO_ASSIGN_OR_RETURN(auto coordinator, MakeCoordinator(cfg_, {rollout_.get(), scorer_.get(), critic_, learner_},
                                                           *tokenizer, resolved_, resume_));
    if (cfg_.launch.restart_workers) coordinator->set_rollout_recovery([this] { return ReplaceLostRollouts(); });
    coordinator->set_step_observer([&](const Metrics& m) { ObserveStep(*coordinator, m); });
    coordinator->set_between_steps([this] { return control_.BetweenSteps(); });
    control_.Start(coordinator->step(), cfg_.coordinator.steps);
    RTO_RETURN_IF_ERROR(coordinator->Run());
    return VerifyWorkerWeights();
  }

  // A dead service explains the failure better than the RPC error it caused.
  absl::Status ExplainFailure(const absl::Status& run) {
    if (local_ != nullptr) {
      if (absl::Status alive = local_->CheckAlive(); !alive.ok()) {
        return absl::Status(alive.code(), absl::StrCat(run.message(), "\n", alive.message()));
      }
    }
    return run;
  }

  const RtoJobConfig& cfg_;
  const std::string& resolved_;
  const bool resume_;
  LocalProcesses* local_;
  WorkerRegistry registry_;
  RunControl control_;
  const bool with_critic_;
  ClientOptions client_;

  std::unique_ptr<ServiceMetrics> metrics_;
  prometheus::Counter* steps_total_ = nullptr;
  prometheus::Counter* restarts_total_ = nullptr;
  std::unique_ptr<CoordinatorService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;

  std::map<std::string, std::vector<WorkerInfo>> workers_;
  std::vector<WorkerInfo> rollout_slots_;  // slot i: rollout rank i + 1
  std::shared_ptr<WeightPlan> plan_;
  std::vector<std::unique_ptr<RemoteLearner>> learner_ranks_;
  std::unique_ptr<DataParallelLearner> learner_group_;  // over learner_ranks_ when there are several
  Learner* learner_ = nullptr;                          // the group, or the one rank
  std::vector<std::unique_ptr<RemoteCritic>> critic_ranks_;
  std::unique_ptr<DataParallelCritic> critic_group_;
  Critic* critic_ = nullptr;  // null without a critic
  std::unique_ptr<RolloutPool> rollout_;
  std::unique_ptr<ScorerPool> scorer_;
};

}  // namespace

absl::Status RunDistributed(const RtoJobConfig& config, const std::string& resolved_config, bool resume,
                            const CoordinatorEndpoint& endpoint, LocalProcesses* local) {
  return DistributedRun(config, resolved_config, resume, local).Run(endpoint);
}

}  // namespace rto
