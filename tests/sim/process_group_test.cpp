#include "sim/live/process_group.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace aigw::sim {
namespace {

using namespace std::chrono_literals;

bool exists(pid_t pid) { return kill(pid, 0) == 0; }

TEST(ProcessGroup, StopTerminatesEveryChildAndLeavesNoneBehind) {
  ProcessGroup g;
  std::string e;
  std::vector<pid_t> pids;
  for (int i = 0; i < 3; ++i) {
    pids.push_back(g.spawn({"sleeper", {"/bin/sleep", "30"}, ""}, e));
    ASSERT_GT(pids.back(), 0) << e;
  }
  EXPECT_EQ(g.running(), 3u);
  for (pid_t p : pids) EXPECT_EQ(getpgid(p), g.group());
  const auto t0 = std::chrono::steady_clock::now();
  const auto ended = g.stop(2000ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
  ASSERT_EQ(ended.size(), 3u);
  for (const auto& x : ended) EXPECT_EQ(x.signal, SIGTERM);
  for (pid_t p : pids) EXPECT_FALSE(exists(p));
  EXPECT_EQ(g.running(), 0u);
}

TEST(ProcessGroup, ChildIgnoringSigtermIsKilledAfterTheGrace) {
  ProcessGroup g;
  std::string e;
  const pid_t p = g.spawn({"stubborn", {"/bin/sh", "-c", "trap '' TERM; sleep 30"}, ""}, e);
  ASSERT_GT(p, 0) << e;
  std::this_thread::sleep_for(100ms);  // let the shell install its trap
  const auto ended = g.stop(300ms);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].signal, SIGKILL);
  EXPECT_FALSE(exists(p));
}

TEST(ProcessGroup, ReapReportsExitCodesAndOutputGoesToTheLog) {
  ProcessGroup g;
  std::string e;
  const std::string log = ::testing::TempDir() + "aigw_pg_test.log";
  std::remove(log.c_str());
  const pid_t p = g.spawn({"echoer", {"/bin/sh", "-c", "echo hello; echo oops >&2; exit 3"}, log}, e);
  ASSERT_GT(p, 0) << e;
  std::vector<ChildExit> ended;
  for (int i = 0; i < 200 && ended.empty(); ++i) {
    std::this_thread::sleep_for(10ms);
    ended = g.reap();
  }
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].name, "echoer");
  EXPECT_EQ(ended[0].exit_code, 3);
  std::ifstream f(log);
  std::stringstream s;
  s << f.rdbuf();
  EXPECT_EQ(s.str(), "hello\noops\n");
  EXPECT_FALSE(g.is_running(p));
}

TEST(ProcessGroup, ExecFailureIsReportedAtSpawn) {
  ProcessGroup g;
  std::string e;
  EXPECT_EQ(g.spawn({"ghost", {"/nonexistent/aigw-nothing"}, ""}, e), -1);
  EXPECT_NE(e.find("cannot execute"), std::string::npos) << e;
  EXPECT_EQ(g.running(), 0u);
}

TEST(ProcessGroup, SignalInjectsAFailureIntoOneChild) {
  ProcessGroup g;
  std::string e;
  const pid_t a = g.spawn({"a", {"/bin/sleep", "30"}, ""}, e);
  const pid_t b = g.spawn({"b", {"/bin/sleep", "30"}, ""}, e);
  ASSERT_TRUE(g.signal(a, SIGKILL));
  std::vector<ChildExit> ended;
  for (int i = 0; i < 200 && ended.empty(); ++i) {
    std::this_thread::sleep_for(5ms);
    ended = g.reap();
  }
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].name, "a");
  EXPECT_TRUE(g.is_running(b));
}

TEST(ProcessGroup, DestructorStopsWhatIsLeft) {
  pid_t p;
  {
    ProcessGroup g;
    std::string e;
    p = g.spawn({"sleeper", {"/bin/sleep", "30"}, ""}, e);
    ASSERT_GT(p, 0);
  }
  EXPECT_FALSE(exists(p));
}

}  // namespace
}  // namespace aigw::sim
