// The scorer role over gRPC: the Scorer interface implemented by calls to a remote
// scorer service (and a pool of them). Every call has a deadline; idempotent calls
// retry (common/rpc/call.h); training calls are never retried. Torch-free.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/actors/roles.h"
#include "common/rpc/call.h"
#include "rto/v1/scorer.grpc.pb.h"

namespace rto {

class RemoteScorer : public Scorer {
 public:
  RemoteScorer(std::shared_ptr<grpc::Channel> channel, ClientOptions options);
  absl::StatusOr<ScoreResult> Score(const std::vector<Trajectory>& trajectories, bool with_dpo) override;

 private:
  std::unique_ptr<v1::Scorer::Stub> stub_;
  ClientOptions options_;
};

// M scorer replicas as one: trajectories split into contiguous shares over the replicas in
// service, scored in parallel. A replica that fails UNAVAILABLE or DEADLINE_EXCEEDED (dead or
// hung) leaves the service, the batch is scored again by the others, and `replace(slot)` runs in
// the background to find a replacement for its slot, which serves from the next call after it is
// found. With no replica left, Score waits for the replacements. Calls must not overlap.
class ScorerPool : public Scorer {
 public:
  // Blocks until a replacement for `slot` serves (or fails: then the pool fails too).
  using Replace = std::function<absl::StatusOr<std::unique_ptr<Scorer>>(size_t slot)>;
  explicit ScorerPool(std::vector<std::unique_ptr<Scorer>> replicas, Replace replace = nullptr)
      : replicas_(std::move(replicas)), replace_(std::move(replace)) {}
  ~ScorerPool();
  absl::StatusOr<ScoreResult> Score(const std::vector<Trajectory>& trajectories, bool with_dpo) override;
  // Replicas replaced since the pool started.
  int64_t replaced() const { return replaced_; }

 private:
  // The batch over the replicas in service; the slots that failed transiently are taken out of
  // service (their replacement started) and reported in `lost`.
  absl::StatusOr<ScoreResult> ScoreInService(const std::vector<Trajectory>& trajectories, bool with_dpo,
                                             std::vector<size_t>* lost);
  // Puts the replacements that are ready (all of them, with `wait`) into their slots.
  absl::Status AdoptReplacements(bool wait);

  std::vector<std::unique_ptr<Scorer>> replicas_;  // null: out of service
  Replace replace_;
  std::map<size_t, std::future<absl::StatusOr<std::unique_ptr<Scorer>>>> replacing_;
  int64_t replaced_ = 0;
};

}  // namespace rto
