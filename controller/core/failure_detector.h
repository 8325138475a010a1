// Liveness of nodes that report periodically (gateways, GPU servers). A node is dead
// after `dead_after` of its own periods without a report; with probing on, a node whose
// report is late by more than `suspect_after` periods is probed directly, and declared
// dead as soon as `probes` probes, one every `probe_interval`, went unanswered. The
// probes turn "3 periods of silence" into "a late report and ~300 ms without answer",
// as SWIM's direct probe does, without trusting anyone else's word. Time is a parameter.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace aigw::controller {

struct ProbePolicy {
  uint32_t probes = 0;                       ///< 0: no probing, only the silence rule
  double suspect_after_periods = 1.5;        ///< late by this much: start probing
  int64_t probe_interval_ns = 100'000'000;   ///< between probes, and the last probe's wait
};

class FailureDetector {
 public:
  explicit FailureDetector(uint32_t dead_after_periods = 3, ProbePolicy probing = {})
      : dead_after_(dead_after_periods), probing_(probing) {}
  void set_dead_after(uint32_t periods) { dead_after_ = periods; }

  /// Records a report (or a probe's answer) at `now_ns` from a node that reports every
  /// `period_ms`. Returns true when the node was unknown or dead before (it (re)joined).
  bool heard(uint32_t id, int64_t now_ns, uint32_t period_ms);

  /// The suspects due for a probe at `now_ns`; each is recorded as probed.
  std::vector<uint32_t> probes_due(int64_t now_ns);

  /// Declares dead every node silent for too long or that ignored every probe; returns
  /// those newly dead.
  std::vector<uint32_t> expire(int64_t now_ns);

  /// The observer itself did not run for `gap_ns` (a stalled process, a paused VM): that
  /// silence is no evidence against anyone, so every clock moves on by the gap.
  void excuse(int64_t gap_ns);

  /// Removes a node (it left cleanly).
  void forget(uint32_t id) { nodes_.erase(id); }
  bool alive(uint32_t id) const;
  /// When the next probe or expiry is due, or INT64_MAX.
  int64_t next_deadline_ns() const;

 private:
  struct Node {
    int64_t last_ns = 0;
    int64_t period_ns = 0;
    int64_t last_probe_ns = 0;
    uint32_t probes_sent = 0;
    bool alive = true;
  };
  int64_t silence_deadline(const Node& n) const { return n.last_ns + int64_t(dead_after_) * n.period_ns; }
  int64_t suspect_at(const Node& n) const {
    return n.last_ns + int64_t(probing_.suspect_after_periods * double(n.period_ns));
  }
  /// When `n` is next due: a probe, the verdict after the last probe, or silence.
  int64_t due(const Node& n) const;

  uint32_t dead_after_;
  ProbePolicy probing_;
  std::map<uint32_t, Node> nodes_;
};

}  // namespace aigw::controller
