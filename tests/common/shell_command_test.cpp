// The test rigs' set-up steps: a failing step must say which command failed and what it
// printed, and a chain must stop at the first failure.
#include "tests/common/shell_command.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/common/veth_namespace.h"

namespace aigw::test {
namespace {

TEST(ShellCommand, CollectsStdoutStderrAndExitStatus) {
  const CommandResult r = run_command("echo out; echo err >&2; exit 3");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.output.find("out"), std::string::npos);
  EXPECT_NE(r.output.find("err"), std::string::npos);
}

TEST(ShellCommand, AFailedSetupStepNamesTheCommandAndShowsItsOutput) {
  const auto ok = setup_step("true");
  EXPECT_TRUE(ok);
  const auto failed = setup_step("echo no such device >&2; exit 2");
  ASSERT_FALSE(failed);
  const std::string message = failed.message();
  EXPECT_NE(message.find("set-up step failed (exit 2)"), std::string::npos) << message;
  EXPECT_NE(message.find("echo no such device"), std::string::npos) << message;
  EXPECT_NE(message.find("no such device\n"), std::string::npos) << message;
}

TEST(ShellCommand, AMissingProgramFailsWithTheShellsComplaint) {
  const auto failed = setup_step("aigw-no-such-program --flag");
  ASSERT_FALSE(failed);
  EXPECT_NE(std::string(failed.message()).find("not found"), std::string::npos) << failed.message();
}

TEST(SetupChain, StopsAtTheFirstFailureAndKeepsItsDescription) {
  SetupChain chain;
  EXPECT_TRUE(chain.step("true"));
  EXPECT_FALSE(chain.step("exit 7"));
  EXPECT_FALSE(chain.step("echo must-not-run"));  // not run: an earlier step failed
  EXPECT_FALSE(chain.ok());
  EXPECT_NE(chain.error().find("(exit 7): exit 7"), std::string::npos) << chain.error();
  EXPECT_EQ(chain.error().find("must-not-run"), std::string::npos) << chain.error();
}

// A deliberately broken step in the real rig (an address that is not one) leaves the
// pair down with the failing command in `error`, and removes what it made.
TEST(VethInNamespace, ABrokenStepFailsWithTheCommandAndItsOutput) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for veth and network namespaces";
  VethInNamespace veth;
  EXPECT_FALSE(veth.create("aigwx", "not-an-address"));
  EXPECT_FALSE(veth.up);
  EXPECT_NE(veth.error.find("addr add not-an-address"), std::string::npos) << veth.error;
  veth.remove();
  EXPECT_FALSE(run_command("ip netns list | grep -qw " + veth.netns).ok()) << "namespace left behind";
}

TEST(VethInNamespace, CreatesAPairWhoseFarEndLivesInTheNamespace) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for veth and network namespaces";
  VethInNamespace veth;
  ASSERT_TRUE(veth.create("aigwy", "10.79.0.2/24")) << veth.error;
  EXPECT_TRUE(setup_step("ip -n " + veth.netns + " -o addr show dev " + veth.dev + " | grep -q 10.79.0.2"));
  EXPECT_TRUE(setup_step("ip link show " + veth.gw));
  veth.remove();
  EXPECT_FALSE(run_command("ip link show " + veth.gw).ok()) << "veth left behind";
}

}  // namespace
}  // namespace aigw::test
