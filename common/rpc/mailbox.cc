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

bool Mailbox::Post(std::function<void()> job) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || static_cast<int64_t>(queue_.size()) + running_ >= capacity_) return false;
  queue_.push_back(std::move(job));
  wake_.Signal();
  return true;
}

void Mailbox::FinishCurrent() {
  absl::MutexLock lock(&mu_);
  running_ = 0;
}

int64_t Mailbox::depth() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(queue_.size()) + running_;
}

void Mailbox::Serve() {
  while (true) {
    std::function<void()> job;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_ && queue_.empty()) wake_.Wait(&mu_);
      if (queue_.empty()) return;  // stopping, and nothing left to do
      job = std::move(queue_.front());
      queue_.pop_front();
      running_ = 1;  // until the job calls FinishCurrent, just before it answers
    }
    job();
  }
}

}  // namespace rto
