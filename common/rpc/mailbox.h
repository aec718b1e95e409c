// An actor's mailbox (DESIGN.md section 2): a bounded queue served by the actor's own thread.
// gRPC handlers never touch the model; they post work here and wait for its result. One thread
// runs every piece of work in order, which serialises generation against weight updates without
// locks on tensors, and the bound is the back-pressure: a full mailbox refuses new work with
// RESOURCE_EXHAUSTED at once. The coordinator's steering (weight sync, checkpoints, status) goes
// through a control lane, served before queued work and not refused while the work lane is full:
// a flood of generation requests must not starve the run's weight broadcast. Torch-free.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace rto {

class Mailbox {
 public:
  explicit Mailbox(int64_t capacity);
  ~Mailbox();  // finishes the work already queued, then stops the thread
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  using Deadline = std::chrono::system_clock::time_point;  // as grpc::ServerContext::deadline()
  // kControl: served first, with room of its own (kControlCapacity pieces waiting).
  enum class Lane { kWork, kControl };
  static constexpr int64_t kControlCapacity = 4;

  // Runs `work` on the actor thread and returns its result; RESOURCE_EXHAUSTED when `capacity`
  // pieces of work are already waiting or running. Work whose caller's deadline has passed by the
  // time the actor reaches it is not run (DEADLINE_EXCEEDED): nobody waits for its answer, and
  // running it late would only delay the work behind it. Exceptions thrown by `work` become
  // INTERNAL.
  template <typename T>
  absl::StatusOr<T> Call(Deadline deadline, std::function<absl::StatusOr<T>()> work, Lane lane = Lane::kWork);
  template <typename T>
  absl::StatusOr<T> Call(std::function<absl::StatusOr<T>()> work) {
    return Call<T>(Deadline::max(), std::move(work));
  }

  int64_t depth() const;  // work waiting or running
  int64_t capacity() const { return capacity_; }

 private:
  bool Post(std::function<void()> job, Lane lane);
  void FinishCurrent();
  void Serve();

  const int64_t capacity_;
  mutable absl::Mutex mu_;
  absl::CondVar wake_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  std::deque<std::function<void()>> control_ ABSL_GUARDED_BY(mu_);
  int64_t running_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

template <typename T>
absl::StatusOr<T> Mailbox::Call(Deadline deadline, std::function<absl::StatusOr<T>()> work, Lane lane) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<T>>>();
  std::future<absl::StatusOr<T>> result = promise->get_future();
  const bool posted = Post(
      [this, promise, deadline, work = std::move(work)] {
        absl::StatusOr<T> result = absl::InternalError("the actor produced no result");
        try {
          if (std::chrono::system_clock::now() > deadline) {
            result =
                absl::DeadlineExceededError("the caller's deadline passed while the request waited in the mailbox");
          } else {
            result = work();
          }
        } catch (const std::exception& e) {
          result = absl::InternalError(absl::StrCat("the actor failed: ", e.what()));
        }
        // Free the slot before answering, so that a caller who posts again at once finds it free.
        FinishCurrent();
        promise->set_value(std::move(result));
      },
      lane);
  if (!posted) {
    return absl::ResourceExhaustedError(
        lane == Lane::kWork ? absl::StrCat("the actor's mailbox is full (", capacity_, " requests)")
                            : absl::StrCat("the actor's control lane is full (", kControlCapacity, " requests)"));
  }
  return result.get();
}

}  // namespace rto
