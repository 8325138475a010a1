// Controller counters and their Prometheus text exposition.
#pragma once

#include <cstdint>
#include <map>
#include <string>

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

/// Appends one counter family in Prometheus text format.
void write_family(std::string& out, const char* name, const char* help, const char* label, const CounterFamily& f);
/// Appends one gauge or counter sample without labels (writes HELP/TYPE first).
void write_sample(std::string& out, const char* name, const char* type, const char* help, double value);
/// Appends a labelled sample line (HELP/TYPE written by the caller once per name).
void write_labelled(std::string& out, const char* name, const std::string& labels, double value);
void write_header(std::string& out, const char* name, const char* type, const char* help);

}  // namespace aigw::controller
