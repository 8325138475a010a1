// A veth pair with one end in a network namespace the test creates and removes: the
// only way tests put real kernel traffic on an interface, without touching the host's.
#pragma once

#include <unistd.h>

#include <string>

#include "tests/common/shell_command.h"

namespace aigw::test {

/// A veth pair: `gw` stays in this namespace (for net_af_packet), `dev` lives in the
/// network namespace `netns` with address `dev_cidr`. Root only; names carry the pid.
/// When a step fails, `up` is false and `error` holds the command and its output.
struct VethInNamespace {
  std::string netns, gw, dev;
  bool up = false;
  std::string error;

  /// `prefix` (≤ 5 characters) keeps the test programs' names apart.
  bool create(const std::string& prefix, const std::string& dev_cidr) {
    const std::string tag = std::to_string(getpid() % 100000);
    netns = prefix + "n" + tag;
    gw = prefix + "g" + tag;
    dev = prefix + "d" + tag;
    remove_stale();
    SetupChain chain;
    chain.step("ip netns add " + netns);
    chain.step("ip link add " + gw + " type veth peer name " + dev);
    chain.step("ip link set " + dev + " netns " + netns);
    chain.step("ip -n " + netns + " addr add " + dev_cidr + " dev " + dev);
    chain.step("ip -n " + netns + " link set " + dev + " up");
    chain.step("ip -n " + netns + " link set lo up");
    chain.step("ip link set " + gw + " up");
    // The kernel must put real UDP checksums on the wire (veth offloads leave them partial).
    chain.step("ip netns exec " + netns + " ethtool -K " + dev + " tx off");
    up = chain.ok();
    error = chain.error();
    return up;
  }
  void remove() {
    if (netns.empty()) return;
    run_command("ip link del " + gw);
    run_command("ip netns del " + netns);
  }

 private:
  // What a killed run with the same pid left behind; absent is the normal case.
  void remove_stale() {
    run_command("ip link del " + gw);
    run_command("ip netns del " + netns);
  }
};

}  // namespace aigw::test
