// The discrete-event mode: no sockets and no processes. The controller's real core
// (controller::Controller: authentication, admission, load model, forecast, LSD
// trigger, migration planner and executor, failure detection, steering) runs on
// simulated time and exchanges real, sealed control messages with simulated gateways,
// devices and GPU servers. Gateways compute their port loads from the units their
// streams send each period and a seeded loss model (loss_model.h); 10,000–100,000 streams and
// 100+ gateways run unscaled on one core.
#pragma once

#include <string>

#include "sim/report/run_report.h"
#include "sim/scenario/scenario.h"

namespace aigw::sim {

struct DiscreteOptions {
  /// Packets a port can queue before dropping (the K of the M/M/1/K loss model).
  uint32_t queue_packets = 256;
  /// Fraction of the period a unit is held in reassembly memory (paced sending).
  double residency = 0.5;
  int64_t control_latency_ns = 200'000;
};

/// Runs the (already scaled) scenario. "" or the error.
std::string run_discrete(const Scenario& scaled, const DiscreteOptions& options, RunReport& report);


}  // namespace aigw::sim
