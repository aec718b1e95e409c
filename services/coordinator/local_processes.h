// The services `rto launch` runs as processes on this machine: rto-<role> executables (next to
// `rto`) started with fork and execve, each logging to <log_dir>/<name>.log; which of them died,
// with the end of their logs; a replacement for a dead one (unless it keeps dying); killing a hung
// one; and stopping them all (also from SIGINT or SIGTERM, see StopChildrenOnSignal).
// Thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

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
    // Non-empty: the run's credentials (common/security/pki.h); each service reads its role's
    // directory under it (security.dir=<security_dir>/<role>).
    std::string security_dir;
    // A process restarted more than max_restarts times within restart_window keeps dying:
    // RestartExited stops restarting it and fails with its log tail.
    int max_restarts = 5;
    std::chrono::seconds restart_window{600};
  };
  explicit LocalProcesses(Options options) : options_(std::move(options)) {}
  ~LocalProcesses() { StopAll(); }
  LocalProcesses(const LocalProcesses&) = delete;
  LocalProcesses& operator=(const LocalProcesses&) = delete;

  // SIGINT and SIGTERM stop every child this process started, then exit 128 + the signal.
  static void StopChildrenOnSignal();

  // Starts rto-<role> named <role>[-<index>] (index < 0: no suffix), registering with the
  // coordinator at `coordinator`, with `extra_args` after the common flags.
  absl::Status Spawn(const std::string& role, int index, const std::string& coordinator,
                     const std::vector<std::string>& extra_args = {});
  // Starts a new process for every process that exited; returns their names.
  absl::StatusOr<std::vector<std::string>> RestartExited();
  // SIGKILL to the process named `name` if it runs as `pid` (one that stopped answering; not a
  // replacement under the same name), and reaps it.
  void Kill(const std::string& name, int64_t pid);
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
    std::deque<std::chrono::steady_clock::time_point> restarts;  // within the restart window
  };
  bool Exited(Process& p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Start(Process& p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // "<name> (pid P) exited with status S; the end of <log>:\n<tail>".
  static std::string Obituary(const Process& p);

  const Options options_;
  absl::Mutex mu_;
  std::deque<Process> processes_ ABSL_GUARDED_BY(mu_);  // a deque: Start keeps references
};

}  // namespace rto
