#include "services/coordinator/local_processes.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string_view>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

using Clock = std::chrono::steady_clock;

// Children, for the signal handler (which may only call async-signal-safe functions).
constexpr int kMaxChildren = 256;
pid_t g_children[kMaxChildren];
volatile std::sig_atomic_t g_num_children = 0;

void OnInterrupt(int sig) {
  for (int i = 0; i < g_num_children; ++i) kill(g_children[i], SIGTERM);
  _exit(128 + sig);
}

std::string Tail(const std::string& path, int lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0; i < all.size(); ++i) {
    out += "  | " + all[i] + "\n";
  }
  return out;
}

}  // namespace

void LocalProcesses::StopChildrenOnSignal() {
  std::signal(SIGINT, OnInterrupt);
  std::signal(SIGTERM, OnInterrupt);
}

absl::StatusOr<int> FreePort(const std::string& host) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = 0;
  if (inet_pton(AF_INET, host == "0.0.0.0" ? "0.0.0.0" : host.c_str(), &address.sin_addr) != 1) {
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  socklen_t size = sizeof(address);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0;
  close(fd);
  if (!ok) return absl::UnavailableError(absl::StrCat("no free port on ", host));
  return ntohs(address.sin_port);
}

absl::Status LocalProcesses::Spawn(const std::string& role, int index, const std::string& coordinator,
                                   const std::vector<std::string>& extra_args) {
  Process p;
  p.extra_args = extra_args;
  p.role = role;
  p.name = index < 0 ? role : absl::StrCat(role, "-", index);
  p.log = absl::StrCat(options_.log_dir, "/", p.name, ".log");
  p.coordinator = coordinator;
  absl::MutexLock lock(&mu_);
  processes_.push_back(p);
  return Start(processes_.back());
}

std::string LocalProcesses::Obituary(const Process& p) {
  return absl::StrCat(p.name, " (pid ", p.pid, ") exited with status ",
                      WIFEXITED(p.status) ? WEXITSTATUS(p.status) : 128 + WTERMSIG(p.status), "; the end of ", p.log,
                      ":\n", Tail(p.log, 20));
}

absl::StatusOr<std::vector<std::string>> LocalProcesses::RestartExited() {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> restarted;
  const auto now = Clock::now();
  for (Process& p : processes_) {
    if (!Exited(p)) continue;
    while (!p.restarts.empty() && now - p.restarts.front() > options_.restart_window) p.restarts.pop_front();
    if (static_cast<int>(p.restarts.size()) >= options_.max_restarts) {
      return absl::UnavailableError(absl::StrCat(p.name, " keeps dying: it died again after ", p.restarts.size(),
                                                 " restarts within ", options_.restart_window.count(),
                                                 " s (launch.max_restarts); ", Obituary(p)));
    }
    std::cerr << "launch: " << p.name << " (pid " << p.pid << ") died; starting a replacement\n";
    p.restarts.push_back(now);
    RTO_RETURN_IF_ERROR(Start(p));
    restarted.push_back(p.name);
  }
  return restarted;
}

void LocalProcesses::Kill(const std::string& name, int64_t pid) {
  absl::MutexLock lock(&mu_);
  for (Process& p : processes_) {
    if (p.name != name || p.pid != pid || Exited(p)) continue;
    std::cerr << "launch: killing " << p.name << " (pid " << p.pid << ")\n";
    kill(p.pid, SIGKILL);
    waitpid(p.pid, &p.status, 0);
    p.exited = true;
  }
}

absl::Status LocalProcesses::CheckAlive() {
  absl::MutexLock lock(&mu_);
  std::string dead;
  for (Process& p : processes_) {
    if (Exited(p)) dead += Obituary(p);
  }
  if (dead.empty()) return absl::OkStatus();
  return absl::UnavailableError("a service died: " + dead);
}

void LocalProcesses::StopAll() {
  absl::MutexLock lock(&mu_);
  for (Process& p : processes_) {
    if (!p.exited) kill(p.pid, SIGTERM);
  }
  const auto end = Clock::now() + std::chrono::seconds(10);
  for (Process& p : processes_) {
    while (!Exited(p)) {
      if (Clock::now() > end) {
        kill(p.pid, SIGKILL);
        waitpid(p.pid, &p.status, 0);
        p.exited = true;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
  g_num_children = 0;
}

bool LocalProcesses::Exited(Process& p) {
  if (!p.exited && waitpid(p.pid, &p.status, WNOHANG) == p.pid) p.exited = true;
  return p.exited;
}

absl::Status LocalProcesses::Start(Process& p) {
  const std::string bin = absl::StrCat(options_.bin_dir, "/rto-", p.role);
  if (!std::filesystem::exists(bin)) {
    return absl::NotFoundError(absl::StrCat(bin, " does not exist (build every target)"));
  }
  std::vector<std::string> args = {bin,      "--config", options_.config_path, "--host",     options_.host,
                                   "--name", p.name,     "--coordinator",      p.coordinator};
  args.insert(args.end(), p.extra_args.begin(), p.extra_args.end());
  if (!options_.security_dir.empty()) {
    args.push_back("--set");
    args.push_back(absl::StrCat("security.dir=", options_.security_dir, "/", p.role));
  }
  // This process's environment, and OMP_NUM_THREADS when the launcher sets the count: OpenMP
  // reads it when LibTorch loads, before the service applies its plan.
  const int threads = options_.threads;
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (threads == 0 || std::string_view(*e).rfind("OMP_NUM_THREADS=", 0) != 0) env.emplace_back(*e);
  }
  if (threads > 0) {
    args.push_back("--set");
    args.push_back(absl::StrCat("threads.intra_op=", threads));
    env.push_back(absl::StrCat("OMP_NUM_THREADS=", threads));
  }
  // Everything the child needs is made before fork: between fork and exec it may only call
  // async-signal-safe functions (another thread of this process may hold malloc's lock).
  std::vector<char*> argv, envp;
  for (std::string& a : args) argv.push_back(a.data());
  for (std::string& e : env) envp.push_back(e.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork failed for ", p.name));
  if (pid == 0) {
    const int fd = open(p.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execve(bin.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  p.pid = pid;
  p.exited = false;
  if (g_num_children < kMaxChildren) g_children[g_num_children++] = pid;
  return absl::OkStatus();
}

}  // namespace rto
