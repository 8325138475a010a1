// Controller counters and their Prometheus text exposition.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "protocol/prometheus_text.h"

namespace aigw::controller {

/// Counters of one metric, by the value of its single label.
class CounterFamily {
 public:
  void inc(const std::string& label, uint64_t n = 1) { values_[label] += n; }
  uint64_t get(const std::string& label) const {
    auto it = values_.find(label);
    return it == values_.end() ? 0 : it->second;
  }
  const std::map<std::string, uint64_t>& values() const { return values_; }

 private:
  std::map<std::string, uint64_t> values_;
};

struct ControllerMetrics {
  CounterFamily rx_messages;         // by message type
  CounterFamily rx_rejected;         // by reason
  CounterFamily tx_messages;         // by message type
  CounterFamily admissions;          // by status
  CounterFamily admissions_refused;  // rejected_invalid replies, by the rule the request broke
  CounterFamily migrations_started;  // by reason
  CounterFamily migrations_finished; // by outcome
  uint64_t tx_errors = 0;
  uint64_t resteers = 0;
  uint64_t gateway_deaths = 0;
  uint64_t gateway_probes = 0;       // heartbeats sent to gateways whose report was late
  uint64_t stalls = 0;               // times the controller found it had not run for > 2 rounds
  uint64_t failover_units_lost = 0;  // units a dead gateway held unfinished (see finished())
  uint64_t admission_windows = 0;
  uint64_t admission_decision_ns_sum = 0;
  uint64_t admission_decision_ns_last = 0;
};

/// Writes one counter family, a sample per label value (label `label`).
void write_family(PromText& w, const char* name, const char* help, const char* label, const CounterFamily& f);

}  // namespace aigw::controller
