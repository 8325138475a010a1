// The child processes of a live run (controller, gateways, GPU emulators, relays), kept
// in one process group of their own so that none outlives the simulator: stop() sends
// SIGTERM to the group, waits, then SIGKILLs; every child also gets SIGKILL if the
// simulator itself dies (PR_SET_PDEATHSIG), and the destructor stops what is left.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace aigw::sim {

struct ChildSpec {
  std::string name;               ///< for logs and reports, e.g. "gateway-2"
  std::vector<std::string> argv;  ///< argv[0] is the executable path
  std::string log_path;           ///< stdout and stderr go here (appended); "" = /dev/null
};

struct ChildExit {
  std::string name;
  pid_t pid = 0;
  int exit_code = -1;  ///< when it exited
  int signal = 0;      ///< when a signal ended it
};

/// \threadbound Use from the thread that created it (PDEATHSIG follows that thread).
class ProcessGroup {
 public:
  ProcessGroup() = default;
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  /// Starts a child; returns its pid, or -1 with `error` (including exec failures,
  /// which are reported here rather than as an exit later).
  pid_t spawn(const ChildSpec& spec, std::string& error);
  /// Sends `sig` to one child (e.g. SIGKILL to inject a gateway failure).
  bool signal(pid_t pid, int sig);
  /// Collects children that ended since the last call, without blocking.
  std::vector<ChildExit> reap();
  /// SIGTERM to every child, up to `grace` for them to exit, then SIGKILL; reaps all.
  /// Returns every child that was still running, with how it ended.
  std::vector<ChildExit> stop(std::chrono::milliseconds grace);

  size_t running() const;
  pid_t group() const { return pgid_; }
  bool is_running(pid_t pid) const;

 private:
  struct Child {
    std::string name;
    pid_t pid;
    bool running;
  };
  Child* find(pid_t pid);

  pid_t pgid_ = 0;  // the first child's pid; later children join its group
  std::vector<Child> children_;
};

}  // namespace aigw::sim
