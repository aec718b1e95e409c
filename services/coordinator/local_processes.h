// The services `rto launch` runs as processes on this machine: rto-<role> executables (next to
// `rto`) started with fork and execve, each logging to <log_dir>/<name>.log; which of them died,
// with the end of their logs; a replacement for a dead one; and stopping them all (also from
// SIGINT or SIGTERM, see StopChildrenOnSignal). Not thread-safe.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rto {

// A TCP port on `host` that was free a moment ago (for a store a child process binds).
absl::StatusOr<int> FreePort(const std::string& host);

class LocalProcesses {
 public:
  struct Options {
    std::string bin_dir;      // where rto-<role> are
    std::string config_path;  // the resolved config every service reads
    std::string log_dir;
    std::string host;  // every service binds this address
    int threads = 0;   // > 0: every service's threads.intra_op (its share of this machine's cores)
  };
  explicit LocalProcesses(Options options) : options_(std::move(options)) {}
  ~LocalProcesses() { StopAll(); }

  // SIGINT and SIGTERM stop every child this process started, then exit 128 + the signal.
  static void StopChildrenOnSignal();

  // Starts rto-<role> named <role>[-<index>] (index < 0: no suffix), registering with the
  // coordinator at `coordinator`, with `extra_args` after the common flags.
  absl::Status Spawn(const std::string& role, int index, const std::string& coordinator,
                     const std::vector<std::string>& extra_args = {});
  // Starts a new process for every `role` process that exited; returns their names.
  absl::StatusOr<std::vector<std::string>> RestartExited(const std::string& role);
  // An error naming every process that exited, with its log tail.
  absl::Status CheckAlive();
  // SIGTERM to every process, SIGKILL to those still running after 10 s.
  void StopAll();

 private:
  struct Process {
    std::string name, role, log, coordinator;
    std::vector<std::string> extra_args;
    pid_t pid = -1;
    bool exited = false;
    int status = 0;
  };
  bool Exited(Process& p);
  absl::Status Start(Process& p);

  Options options_;
  std::vector<Process> processes_;
};

}  // namespace rto
