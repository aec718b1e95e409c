#include "services/coordinator/distributed_run.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "common/rpc/call.h"
#include "common/rpc/metrics.h"
#include "common/rpc/server.h"
#include "common/rpc/weight_plan.h"
#include "common/security/pki.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "common/util/time.h"
#include "nlohmann/json.hpp"
#include "services/coordinator/control_plane.h"
#include "services/coordinator/data_parallel_roles.h"
#include "services/critic/critic_client.h"
#include "services/learner/learner_client.h"
#include "services/rollout/rollout_client.h"
#include "services/scorer/scorer_client.h"

namespace rto {
namespace {

using Clock = std::chrono::steady_clock;

// The control plane's messages are small (a status lists a few hundred workers at most): a
// larger one is refused (RESOURCE_EXHAUSTED) before it costs memory.
constexpr int64_t kControlPlaneMessageBytes = 4 << 20;

// The host part of host:port.
std::string HostOf(const std::string& address) { return address.substr(0, address.rfind(':')); }

// The roles whose workers hold state a replacement must restore from a checkpoint, each of
// data-parallel ranks.
bool Stateful(const std::string& role) { return role == "learner" || role == "critic"; }

// One distributed run, stage by stage (Run). Its state lives on the thread that calls Run (and
// the scorer pool's replacement threads, which touch only the registry, the slots and the local
// processes, all thread-safe); the control plane's gRPC threads touch only the registry and the
// run control, which are thread-safe.
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
    RTO_ASSIGN_OR_RETURN(std::shared_ptr<const TransportSecurity> security, TransportSecurity::Load(cfg_.security));
    client_.security = security;
    RTO_ASSIGN_OR_RETURN(std::string basic_auth, cfg_.security.MetricsBasicAuth());
    RTO_ASSIGN_OR_RETURN(
        metrics_,
        ServiceMetrics::Start("coordinator", endpoint.metrics_host.empty() ? endpoint.host : endpoint.metrics_host,
                              endpoint.metrics_port, basic_auth));
    service_ = std::make_unique<CoordinatorService>(registry_, control_, Millis(cfg_.launch.heartbeat_s), cfg_.out,
                                                    metrics_.get(), security);
    RTO_ASSIGN_OR_RETURN(server_, StartServer({service_.get()}, {.host = endpoint.host,
                                                                 .port = endpoint.port,
                                                                 .max_message_bytes = kControlPlaneMessageBytes,
                                                                 .security = security,
                                                                 .health_port = endpoint.health_port}));
    const int port = server_->port();
    address_ = absl::StrCat(endpoint.advertise.empty() ? endpoint.host : endpoint.advertise, ":", port);
    // `rto ctl --run DIR` reads where to call and how.
    const nlohmann::json where = {{"address", address_},
                                  {"port", port},
                                  {"metrics_port", metrics_->port()},
                                  {"security", security->plaintext() ? "plaintext" : "tls"}};
    RTO_RETURN_IF_ERROR(WriteFileAtomically(cfg_.out + "/logs/coordinator.json", where.dump() + "\n"));
    std::cerr << "coordinator: serving on " << address_ << ", metrics on port " << metrics_->port()
              << (server_->health_port() > 0 ? absl::StrCat(", health checks on port ", server_->health_port()) : "")
              << "\ncoordinator: gRPC: " << security->Describe() << "\n";
    // Counters exist from the start, so that dashboards show a zero rather than no data.
    steps_total_ = &metrics_->Counter(metric::kSteps);
    for (const char* role : {"rollout", "scorer", "critic", "learner"}) {
      metrics_->Counter(metric::kRecoveries, {{"role", role}});
    }
    metrics_->Histogram(metric::kRecoverySeconds);
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

  // While waiting for workers: a local service that died is restarted (or, without
  // launch.restart_workers, ends the wait), and a stop request ends it.
  absl::Status CheckWhileWaiting() {
    if (local_ != nullptr) {
      if (cfg_.launch.restart_workers) {
        RTO_RETURN_IF_ERROR(local_->RestartExited().status());
      } else {
        RTO_RETURN_IF_ERROR(local_->CheckAlive());
      }
    }
    if (control_.stop_requested()) return absl::CancelledError("stopped while waiting for workers");
    return absl::OkStatus();
  }

  absl::Status WaitForWorkers() {
    std::map<std::string, int> counts = {{"learner", static_cast<int>(cfg_.launch.learner_ranks)},
                                         {"scorer", static_cast<int>(cfg_.launch.scorer_replicas)},
                                         {"rollout", static_cast<int>(cfg_.launch.rollout_workers)}};
    if (with_critic_) counts["critic"] = static_cast<int>(cfg_.launch.critic_ranks);
    RTO_ASSIGN_OR_RETURN(auto workers, registry_.WaitFor(counts, Millis(cfg_.launch.startup_timeout_s),
                                                         [this] { return CheckWhileWaiting(); }));
    for (const char* role : {"learner", "critic"}) RTO_RETURN_IF_ERROR(OrderByRank(role, workers[role]));
    absl::MutexLock lock(&slots_mu_);
    for (const auto& [role, list] : workers) {
      for (const WorkerInfo& w : list) {
        std::cerr << "coordinator: " << w.name << " at " << w.address << "\n";
        taken_.insert(w.worker_id);
      }
    }
    slots_ = std::move(workers);
    return absl::OkStatus();
  }

  // list[r] becomes rank r; every rank must be there once.
  static absl::Status OrderByRank(const std::string& role, std::vector<WorkerInfo>& list) {
    std::sort(list.begin(), list.end(), [](const WorkerInfo& a, const WorkerInfo& b) { return a.rank < b.rank; });
    for (size_t r = 0; r < list.size(); ++r) {
      if (list[r].rank != static_cast<int>(r)) {
        std::string ranks;
        for (const WorkerInfo& w : list) absl::StrAppend(&ranks, ranks.empty() ? "" : ", ", w.rank, " (", w.name, ")");
        return absl::InvalidArgumentError(absl::StrCat("the ", list.size(), " ", role, " workers registered ranks ",
                                                       ranks, "; expected 0 to ", list.size() - 1, " once"));
      }
    }
    return absl::OkStatus();
  }

  // The client options for calls to `w`: they are cancelled once it stops heartbeating, or once
  // `abort` is set (a data-parallel rank's call whose peer failed).
  ClientOptions OptionsFor(const WorkerInfo& w, std::shared_ptr<std::atomic<bool>> abort = nullptr) {
    ClientOptions o = client_;
    o.peer_alive = [this, w, abort] { return registry_.IsAlive(w) && !(abort && *abort); };
    return o;
  }

  std::vector<WorkerInfo> Slots(const std::string& role) {
    absl::MutexLock lock(&slots_mu_);
    return slots_[role];
  }

  // The learner's ranks as one Learner (rank 0 alone when there is one).
  absl::Status ConnectToLearner() {
    learner_group_.reset();
    learner_ranks_.clear();
    std::vector<Learner*> ranks;
    for (const WorkerInfo& w : Slots("learner")) {
      absl::StatusOr<std::unique_ptr<RemoteLearner>> created =
          RemoteLearner::Create(Connect(w.address, client_), OptionsFor(w, learner_abort_), plan_, StatusDeadline());
      if (!created.ok()) return Unresponsive(w, created.status());
      std::unique_ptr<RemoteLearner> rank = std::move(*created);
      if (ranks.empty()) plan_->set_store_port(rank->store_port());
      ranks.push_back(rank.get());
      learner_ranks_.push_back(std::move(rank));
    }
    if (ranks.size() > 1) learner_group_ = std::make_unique<DataParallelLearner>(ranks, learner_abort_);
    learner_ = ranks.size() > 1 ? learner_group_.get() : ranks[0];
    return absl::OkStatus();
  }

  // The critic's ranks as one Critic (rank 0 alone when there is one).
  absl::Status ConnectToCritic() {
    critic_group_.reset();
    critic_ranks_.clear();
    if (!with_critic_) return absl::OkStatus();
    std::vector<Critic*> ranks;
    for (const WorkerInfo& w : Slots("critic")) {
      auto rank = std::make_unique<RemoteCritic>(Connect(w.address, client_), OptionsFor(w, critic_abort_));
      if (absl::Status probe = rank->Probe(StatusDeadline()); !probe.ok()) return Unresponsive(w, probe);
      ranks.push_back(rank.get());
      critic_ranks_.push_back(std::move(rank));
    }
    if (ranks.size() > 1) critic_group_ = std::make_unique<DataParallelCritic>(ranks, critic_abort_);
    critic_ = ranks.size() > 1 ? critic_group_.get() : ranks[0];
    return absl::OkStatus();
  }

  // How long a stateful worker's actor may take to answer at connect: an idle one answers at
  // once; one that does not is stuck in a call of an earlier coordinator (a data-parallel rank
  // waiting for a peer that never got the call) and is lost.
  std::chrono::milliseconds StatusDeadline() const {
    return std::max(std::chrono::milliseconds(10000), 2 * Millis(cfg_.launch.heartbeat_timeout_s));
  }

  // A worker that did not answer at connect: retired when it is stuck (its role is then
  // replaced by the recovery), and an error either way.
  absl::Status Unresponsive(const WorkerInfo& w, const absl::Status& why) {
    if (why.code() == absl::StatusCode::kDeadlineExceeded) Retire(w);
    return absl::UnavailableError(absl::StrCat(w.name, " does not answer: ", why.message()));
  }

  std::unique_ptr<RemoteRollout> RolloutClient(const WorkerInfo& worker, size_t slot) {
    return std::make_unique<RemoteRollout>(Connect(worker.address, client_), OptionsFor(worker), plan_,
                                           static_cast<int>(slot) + 1);
  }

  // Every role's clients, from the slots, and a new weight-group generation (the learner, rank
  // 0, hosts its store; rollout slot i is rank i + 1). At the start, and after a recovery.
  absl::Status ConnectToWorkers() {
    scorer_.reset();  // waits for its replacement threads, which write the slots
    if (plan_ == nullptr) {
      WeightGroupOptions group;
      group.timeout = Millis(cfg_.launch.weight_sync_timeout_s);
      group.bucket_bytes = cfg_.launch.bucket_mb << 20;
      group.shared_memory = cfg_.launch.weight_transport == "auto";
      RTO_ASSIGN_OR_RETURN(group.secret, RandomHex32());
      // Generations are keys in the learner's store: a coordinator that restarts (and finds the
      // same learner) must not reuse those of its predecessor, so they start at its start time.
      group.generation =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count() *
          1000;
      plan_ = std::make_shared<WeightPlan>(group);
    }
    plan_->set_store_host(HostOf(Slots("learner")[0].address));
    RTO_RETURN_IF_ERROR(ConnectToLearner());
    const std::vector<WorkerInfo> rollouts = Slots("rollout");
    plan_->Reform(1 + static_cast<int>(rollouts.size()));
    std::vector<std::unique_ptr<RemoteRollout>> clients;
    for (size_t i = 0; i < rollouts.size(); ++i) clients.push_back(RolloutClient(rollouts[i], i));
    rollout_ = std::make_unique<RolloutPool>(std::move(clients));
    std::vector<std::unique_ptr<Scorer>> scorers;
    for (const WorkerInfo& w : Slots("scorer")) {
      scorers.push_back(std::make_unique<RemoteScorer>(Connect(w.address, client_), OptionsFor(w)));
    }
    scorer_ = std::make_unique<ScorerPool>(std::move(scorers), [this](size_t slot) { return ReplaceScorer(slot); });
    return ConnectToCritic();
  }

  // --- losing and replacing workers ---------------------------------------------------------

  // Whether `w` is gone: a local process that was just restarted (`restarted` names them), or
  // not the process that registered as `w` at its address any more (health for its worker id: a
  // process restarted in place, as a container is, answers at the same address but not for the
  // old id), or silent beyond the heartbeat timeout. The registry is asked after the health
  // check: a replacement that registers meanwhile ends `w`'s registration.
  bool Lost(const WorkerInfo& w, const std::vector<std::string>& restarted) {
    return std::count(restarted.begin(), restarted.end(), w.name) > 0 ||
           !WaitHealthy(Connect(w.address, client_), w.name, std::chrono::seconds(2), w.worker_id).ok() ||
           !registry_.IsAlive(w);
  }

  // Restarts the local processes that exited (under `rto launch`); their names.
  absl::StatusOr<std::vector<std::string>> RestartExited() {
    if (local_ == nullptr) return std::vector<std::string>();
    return local_->RestartExited();
  }

  // A lost worker must not come back: the coordinator forgets it for good (a late waker's next
  // heartbeat tells it to exit), and a local process that still runs (hung) is killed.
  void Retire(const WorkerInfo& w) {
    registry_.Evict(w);
    if (local_ != nullptr) local_->Kill(w.name, w.pid);
  }

  // Waits for a new worker of `role` (of `rank`, when >= 0) to register, and takes it.
  absl::StatusOr<WorkerInfo> WaitForReplacement(const std::string& role, int rank) {
    std::set<std::string> taken;
    {
      absl::MutexLock lock(&slots_mu_);
      taken = taken_;
    }
    RTO_ASSIGN_OR_RETURN(WorkerInfo w, registry_.WaitForNew(
                                           role, taken, Millis(cfg_.launch.startup_timeout_s),
                                           [this] { return CheckWhileWaiting(); }, rank));
    absl::MutexLock lock(&slots_mu_);
    taken_.insert(w.worker_id);
    return w;
  }

  prometheus::Counter& Recoveries(const std::string& role) {
    return metrics_->Counter(metric::kRecoveries, {{"role", role}});
  }
  void CountRecovery(const std::string& role) { Recoveries(role).Increment(); }

  // The scorer pool's replacement of slot `slot` (on its own thread).
  absl::StatusOr<std::unique_ptr<Scorer>> ReplaceScorer(size_t slot) {
    const WorkerInfo lost = Slots("scorer")[slot];
    Retire(lost);
    std::cerr << "coordinator: " << lost.name << " is lost; waiting for a replacement\n";
    RTO_ASSIGN_OR_RETURN(WorkerInfo w, WaitForReplacement("scorer", -1));
    std::cerr << "coordinator: " << w.name << " at " << w.address << " takes its place\n";
    {
      absl::MutexLock lock(&slots_mu_);
      slots_["scorer"][slot] = w;
    }
    CountRecovery("scorer");
    control_.Recovered(absl::StrCat("scorer ", lost.name, " replaced by ", w.name));
    return std::unique_ptr<Scorer>(std::make_unique<RemoteScorer>(Connect(w.address, client_), OptionsFor(w)));
  }

  // A rollout worker that stopped answering gives its slot to the next rollout worker that
  // registers (under `rto launch`, a new process this launcher starts); a new weight-group
  // generation brings it the current weights.
  absl::Status ReplaceLostRollouts() {
    RTO_ASSIGN_OR_RETURN(const std::vector<std::string> restarted, RestartExited());
    const std::vector<WorkerInfo> slots = Slots("rollout");
    std::vector<size_t> lost;
    for (size_t i = 0; i < slots.size(); ++i) {
      if (Lost(slots[i], restarted)) lost.push_back(i);
    }
    if (lost.empty()) return absl::UnavailableError("the rollout failed but every worker answers");
    for (size_t i : lost) {
      Retire(slots[i]);
      std::cerr << "coordinator: " << slots[i].name << " is lost; waiting for a replacement\n";
      RTO_ASSIGN_OR_RETURN(WorkerInfo w, WaitForReplacement("rollout", -1));
      std::cerr << "coordinator: " << w.name << " at " << w.address << " takes its place\n";
      {
        absl::MutexLock lock(&slots_mu_);
        slots_["rollout"][i] = w;
      }
      rollout_->Replace(i, RolloutClient(w, i));
      CountRecovery("rollout");
      control_.Recovered(absl::StrCat("rollout ", slots[i].name, " replaced by ", w.name));
    }
    plan_->Reform(1 + static_cast<int>(slots.size()));
    return absl::OkStatus();
  }

  // After a failed step: the ranks of the learner and of the critic of which one is lost are all
  // retired (a data-parallel group does not survive a lost rank) and replaced, rank by rank, as
  // are lost scorers and rollout workers. Returns the role of each lost worker (none: the
  // failure was not a loss).
  absl::StatusOr<std::vector<std::string>> ReplaceLostWorkers() {
    scorer_.reset();  // its replacement threads are done with the slots after this
    RTO_ASSIGN_OR_RETURN(const std::vector<std::string> restarted, RestartExited());
    std::vector<std::string> roles;
    for (const char* role : {"learner", "critic", "scorer", "rollout"}) {
      std::vector<WorkerInfo> slots = Slots(role);
      std::vector<bool> lost(slots.size());
      bool any = false;
      for (size_t i = 0; i < slots.size(); ++i) {
        lost[i] = Lost(slots[i], restarted);
        any |= lost[i];
        if (lost[i]) roles.push_back(role);
      }
      if (!any) continue;
      for (size_t i = 0; i < slots.size(); ++i) {
        if (!lost[i] && !Stateful(role)) continue;
        std::cerr << "coordinator: " << slots[i].name << (lost[i] ? " is lost" : " leaves with its lost rank")
                  << "; waiting for a replacement\n";
        Retire(slots[i]);
      }
      for (size_t i = 0; i < slots.size(); ++i) {
        if (!lost[i] && !Stateful(role)) continue;
        RTO_ASSIGN_OR_RETURN(slots[i], WaitForReplacement(role, Stateful(role) ? static_cast<int>(i) : -1));
        std::cerr << "coordinator: " << slots[i].name << " at " << slots[i].address << " takes its place\n";
      }
      absl::MutexLock lock(&slots_mu_);
      slots_[role] = slots;
    }
    return roles;
  }

  // --- the loop -------------------------------------------------------------------------------

  // Every step's metrics as gauges, the step counter, and `rto ctl status`; the end of a
  // recovery, once the run is back at the step where it lost a worker.
  void ObserveStep(const Coordinator& coordinator, const Metrics& m) {
    for (const auto& [key, value] : m) {
      metrics_->StepGauge(key).Set(value);
    }
    steps_total_->Increment();
    control_.Progress(coordinator.step(), learner_->version(), m);
    if (recovering_ && coordinator.step() >= lost_at_step_) {
      const double lost = SecondsSince(lost_at_);
      metrics_->Histogram(metric::kRecoverySeconds).Observe(lost);
      control_.Recovered(absl::StrFormat("back at step %d, %.1f s after the loss", lost_at_step_, lost));
      std::cerr << absl::StrFormat("coordinator: recovered: back at step %d %.1f s after the loss\n", lost_at_step_,
                                   lost);
      recovering_ = false;
    }
  }

  // After the last sync every worker must hold exactly the learner's weights.
  absl::Status VerifyWorkerWeights() {
    RTO_ASSIGN_OR_RETURN(WeightsFingerprint reference, learner_->Fingerprint());
    const std::vector<WorkerInfo> slots = Slots("rollout");
    for (size_t i = 0; i < rollout_->workers().size(); ++i) {
      RTO_ASSIGN_OR_RETURN(WeightsFingerprint worker, rollout_->workers()[i]->Fingerprint());
      if (worker.hash != reference.hash || worker.version != reference.version) {
        return absl::InternalError(absl::StrCat(slots[i].name, " holds weights ", worker.hash, " (version ",
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

  // One pass of the coordinator's loop over the current clients, from the newest checkpoint when
  // `resume`.
  absl::Status RunCoordinator(const Tokenizer& tokenizer, bool resume, int64_t* step) {
    RtoJobConfig cfg = cfg_;
    // A lost learner or critic brings the run back to a checkpoint: there is one from the start.
    cfg.coordinator.checkpoint_at_start = cfg_.launch.restart_workers;
    RTO_ASSIGN_OR_RETURN(auto coordinator, MakeCoordinator(cfg, {rollout_.get(), scorer_.get(), critic_, learner_},
                                                           tokenizer, resolved_, resume));
    if (cfg_.launch.restart_workers) coordinator->set_rollout_recovery([this] { return ReplaceLostRollouts(); });
    coordinator->set_step_observer([&](const Metrics& m) { ObserveStep(*coordinator, m); });
    coordinator->set_between_steps([this] { return control_.BetweenSteps(); });
    control_.Start(coordinator->step(), cfg_.coordinator.steps);
    absl::Status run = coordinator->Run();
    *step = coordinator->step();
    return run;
  }

  absl::Status DriveTheLoop() {
    RTO_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, LoadTokenizer(cfg_.models.policy));
    bool resume = resume_;
    int64_t step = 0;
    while (true) {
      absl::Status run = ConnectToWorkers();
      if (run.ok()) run = RunCoordinator(*tokenizer, resume, &step);
      if (run.ok()) {
        std::cerr << "coordinator: recoveries:";
        for (const char* role : {"learner", "critic", "scorer", "rollout"}) {
          std::cerr << " " << role << " " << Recoveries(role).Value();
        }
        std::cerr << "\n";
        return VerifyWorkerWeights();
      }
      if (!cfg_.launch.restart_workers || control_.stop_requested()) return run;
      std::cerr << "coordinator: step " << step + 1 << " failed (" << run.message() << "); looking for lost workers\n";
      if (!recovering_) {
        recovering_ = true;
        lost_at_ = Clock::now();
        lost_at_step_ = step;
      }
      RTO_ASSIGN_OR_RETURN(std::vector<std::string> roles, ReplaceLostWorkers());
      if (roles.empty()) return run;  // nobody was lost: the failure is the run's own
      for (const std::string& role : roles) {
        CountRecovery(role);
        control_.Recovered(absl::StrCat(role, " lost at step ", step, "; resuming from the newest checkpoint"));
      }
      resume = true;
    }
  }

  // A dead service explains the failure better than the RPC error it caused. (With
  // launch.restart_workers the dead are restarted, and one that keeps dying is the error.)
  absl::Status ExplainFailure(const absl::Status& run) {
    if (local_ != nullptr && !cfg_.launch.restart_workers) {
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
  std::unique_ptr<CoordinatorService> service_;
  std::unique_ptr<RpcServer> server_;
  std::string address_;

  absl::Mutex slots_mu_;
  // slots_[role][i]: the worker in slot i (the learner's and critic's: rank i).
  std::map<std::string, std::vector<WorkerInfo>> slots_ ABSL_GUARDED_BY(slots_mu_);
  std::set<std::string> taken_ ABSL_GUARDED_BY(slots_mu_);  // every worker id ever given a slot

  std::shared_ptr<WeightPlan> plan_;
  // Set while a data-parallel call has failed on one rank: the other ranks' calls cancel.
  const std::shared_ptr<std::atomic<bool>> learner_abort_ = std::make_shared<std::atomic<bool>>(false);
  const std::shared_ptr<std::atomic<bool>> critic_abort_ = std::make_shared<std::atomic<bool>>(false);
  std::vector<std::unique_ptr<RemoteLearner>> learner_ranks_;
  std::unique_ptr<DataParallelLearner> learner_group_;  // over learner_ranks_ when there are several
  Learner* learner_ = nullptr;                          // the group, or the one rank
  std::vector<std::unique_ptr<RemoteCritic>> critic_ranks_;
  std::unique_ptr<DataParallelCritic> critic_group_;
  Critic* critic_ = nullptr;  // null without a critic
  std::unique_ptr<RolloutPool> rollout_;
  std::unique_ptr<ScorerPool> scorer_;

  // A recovery in progress: since when, and the step the run had reached.
  bool recovering_ = false;
  Clock::time_point lost_at_;
  int64_t lost_at_step_ = 0;
};

}  // namespace

absl::Status RunDistributed(const RtoJobConfig& config, const std::string& resolved_config, bool resume,
                            const CoordinatorEndpoint& endpoint, LocalProcesses* local) {
  return DistributedRun(config, resolved_config, resume, local).Run(endpoint);
}

}  // namespace rto
