#include "common/rpc/mailbox.h"

namespace rto {

Mailbox::Mailbox(int64_t capacity) : capacity_(capacity < 1 ? 1 : capacity), thread_([this] { Serve(); }) {}

Mailbox::~Mailbox() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool Mailbox::Post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || static_cast<int64_t>(queue_.size()) + running_ >= capacity_) return false;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void Mailbox::FinishCurrent() {
  std::lock_guard<std::mutex> lock(mu_);
  running_ = 0;
}

int64_t Mailbox::depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(queue_.size()) + running_;
}

void Mailbox::Serve() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to do
    std::function<void()> job = std::move(queue_.front());
    queue_.pop_front();
    running_ = 1;  // until the job calls FinishCurrent, just before it answers
    lock.unlock();
    job();
    lock.lock();
  }
}

}  // namespace rto
