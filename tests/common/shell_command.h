// Shell commands in tests: what a test runs outside itself (ip, ethtool, sysctl, a
// compiler, a child program) is run here, so that a failing set-up step fails the test
// with the command and what it printed, instead of letting the test carry on without
// the environment it asked for.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace aigw::test {

struct CommandResult {
  int exit_code = -1;  // the shell's exit status; -1 when it could not run or was killed
  std::string output;  // stdout and stderr, merged
  bool ok() const { return exit_code == 0; }
};

/// Runs `cmd` with /bin/sh and collects its merged output.
inline CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen(("(" + cmd + ") 2>&1").c_str(), "r");
  if (p == nullptr) {
    r.output = "popen failed";
    return r;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

/// The failure text of a set-up step: the command, its exit status and its output.
inline std::string describe_failure(const std::string& cmd, const CommandResult& r) {
  return "set-up step failed (exit " + std::to_string(r.exit_code) + "): " + cmd + "\n" + r.output;
}

/// Runs one set-up step; success, or a failure that names the command and shows its output.
inline ::testing::AssertionResult setup_step(const std::string& cmd) {
  const CommandResult r = run_command(cmd);
  if (r.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << describe_failure(cmd, r);
}

/// A chain of set-up steps that stops at the first failure and keeps its description.
class SetupChain {
 public:
  /// Runs `cmd` unless an earlier step failed; false once any step has failed.
  bool step(const std::string& cmd) {
    if (!error_.empty()) return false;
    const CommandResult r = run_command(cmd);
    if (!r.ok()) error_ = describe_failure(cmd, r);
    return r.ok();
  }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

}  // namespace aigw::test
