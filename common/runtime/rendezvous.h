// The c10d store that rank 0 of a process group hosts (a TCPStore server), started before any
// group forms so that its port can be handed to the other ranks, and kept across the groups that
// meet in it (each under its own key prefix): the learner's weight broadcast generations
// (weight_sync.h) and a trained role's data-parallel ranks (data_parallel.h).
#pragma once

#include <c10/util/intrusive_ptr.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace c10d {
class Store;
}

namespace rto {

class Rendezvous {
 public:
  // Listens on `host` (resolved to its IPv4 address) only, not on every interface; port 0 picks a
  // free port; see port().
  static absl::StatusOr<std::unique_ptr<Rendezvous>> Start(const std::string& host, int port,
                                                           std::chrono::milliseconds timeout);
  ~Rendezvous();
  int port() const;
  // For the groups that meet here.
  c10::intrusive_ptr<c10d::Store> store() const;

 private:
  struct Impl;
  explicit Rendezvous(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rto
