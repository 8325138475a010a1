// A live run: the real aigw-controller, aigw-gateway (socket backend) and aigw-gpu-emu
// processes on loopback with generated configurations, device streams replayed through
// the edge SDK, the cluster observed through its own APIs, and a RunReport at the end
// that accounts for every unit (verified, or lost with the reason given by whoever
// lost it). Every child is stopped at the end, on errors and on Ctrl-C.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "sim/report/run_report.h"
#include "sim/scenario/scenario.h"

namespace aigw::sim {

struct LiveOptions {
  std::string bin_dir;       ///< where aigw-controller, aigw-gateway, aigw-gpu-emu live
  std::string out_dir;       ///< report, configs and process logs
  unsigned replay_threads = 2;
  int64_t drain_ns = 4'000'000'000;
  const std::atomic<bool>* interrupted = nullptr;  ///< set by a signal handler
  /// Called about once a second with a one-line status.
  std::function<void(const std::string&)> progress;
};

/// Runs the (scaled) scenario live. Returns "" and fills `report`, or the error (the
/// report then holds what was gathered). `exit_code` gets a sysexits code on error.
std::string run_live(const Scenario& scaled, const LiveOptions& options, RunReport& report, int& exit_code);

}  // namespace aigw::sim
