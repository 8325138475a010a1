#include "sim/live/process_group.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace aigw::sim {

ProcessGroup::~ProcessGroup() {
  if (running() > 0) stop(std::chrono::milliseconds(2000));
}

ProcessGroup::Child* ProcessGroup::find(pid_t pid) {
  for (auto& c : children_)
    if (c.pid == pid) return &c;
  return nullptr;
}

size_t ProcessGroup::running() const {
  size_t n = 0;
  for (const auto& c : children_) n += c.running;
  return n;
}

bool ProcessGroup::is_running(pid_t pid) const {
  for (const auto& c : children_)
    if (c.pid == pid) return c.running;
  return false;
}

pid_t ProcessGroup::spawn(const ChildSpec& spec, std::string& error) {
  if (spec.argv.empty()) {
    error = spec.name + ": empty command";
    return -1;
  }
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls are allowed.
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int log_fd = spec.log_path.empty()
                         ? open("/dev/null", O_WRONLY | O_CLOEXEC)
                         : open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    error = fmt::format("{}: {}: {}", spec.name, spec.log_path, std::strerror(errno));
    return -1;
  }
  // The exec-status pipe: closed by a successful exec (CLOEXEC), else carries errno.
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) {
    error = fmt::format("{}: pipe: {}", spec.name, std::strerror(errno));
    close(log_fd);
    return -1;
  }
  // A group dies with its last member; start a fresh one then.
  if (running() == 0) pgid_ = 0;
  const pid_t parent = getpid();
  const pid_t group = pgid_;
  const pid_t pid = fork();
  if (pid < 0) {
    error = fmt::format("{}: fork: {}", spec.name, std::strerror(errno));
    close(log_fd);
    close(status_pipe[0]);
    close(status_pipe[1]);
    return -1;
  }
  if (pid == 0) {
    setpgid(0, group);  // group 0: become the leader of a new group
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
    // Default signal dispositions and an empty mask, whatever the simulator set up.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execv(argv[0], argv.data());
    const int e = errno;
    (void)!write(status_pipe[1], &e, sizeof e);
    _exit(127);
  }
  // Both sides set the group so it holds whichever runs first.
  setpgid(pid, group ? group : pid);
  close(log_fd);
  close(status_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do n = read(status_pipe[0], &child_errno, sizeof child_errno);
  while (n < 0 && errno == EINTR);
  close(status_pipe[0]);
  if (n == sizeof child_errno) {
    waitpid(pid, nullptr, 0);
    error = fmt::format("{}: cannot execute {}: {}", spec.name, spec.argv[0], std::strerror(child_errno));
    return -1;
  }
  if (!pgid_) pgid_ = pid;
  children_.push_back({spec.name, pid, true});
  return pid;
}

bool ProcessGroup::signal(pid_t pid, int sig) {
  Child* c = find(pid);
  return c && c->running && kill(pid, sig) == 0;
}

std::vector<ChildExit> ProcessGroup::reap() {
  std::vector<ChildExit> out;
  for (auto& c : children_) {
    if (!c.running) continue;
    int status = 0;
    if (waitpid(c.pid, &status, WNOHANG) != c.pid) continue;
    c.running = false;
    ChildExit e{c.name, c.pid};
    if (WIFEXITED(status)) e.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) e.signal = WTERMSIG(status);
    out.push_back(e);
  }
  return out;
}

std::vector<ChildExit> ProcessGroup::stop(std::chrono::milliseconds grace) {
  std::vector<ChildExit> out = reap();
  if (running() == 0) return out;
  kill(-pgid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (running() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (auto& e : reap()) out.push_back(e);
  }
  if (running() > 0) {
    kill(-pgid_, SIGKILL);
    for (auto& c : children_)
      if (c.running) kill(c.pid, SIGKILL);  // in case one left the group
    while (running() > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      for (auto& e : reap()) out.push_back(e);
    }
  }
  return out;
}

}  // namespace aigw::sim
