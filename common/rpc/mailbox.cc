#include "common/rpc/mailbox.h"

namespace rto {

Mailbox::Mailbox(int64_t capacity) : capacity_(capacity < 1 ? 1 : capacity), thread_([this] { Serve(); }) {}

Mailbox::~Mailbox() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_.SignalAll();
  }
  thread_.join();
}

bool Mailbox::Post(std::function<void()> job, Lane lane) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  if (lane == Lane::kControl) {
    if (static_cast<int64_t>(control_.size()) >= kControlCapacity) return false;
    control_.push_back(std::move(job));
  } else {
    if (static_cast<int64_t>(queue_.size()) + running_ >= capacity_) return false;
    queue_.push_back(std::move(job));
  }
  wake_.Signal();
  return true;
}

void Mailbox::FinishCurrent() {
  absl::MutexLock lock(&mu_);
  running_ = 0;
}

int64_t Mailbox::depth() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(queue_.size() + control_.size()) + running_;
}

void Mailbox::Serve() {
  while (true) {
    std::function<void()> job;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_ && queue_.empty() && control_.empty()) wake_.Wait(&mu_);
      std::deque<std::function<void()>>& from = control_.empty() ? queue_ : control_;
      if (from.empty()) return;  // stopping, and nothing left to do
      job = std::move(from.front());
      from.pop_front();
      running_ = 1;  // until the job calls FinishCurrent, just before it answers
    }
    job();
  }
}

}  // namespace rto
