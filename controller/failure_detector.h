// Liveness of nodes that report periodically (gateways, GPU servers): a node is dead
// after `dead_after` of its own periods without a report. Time is a parameter.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace aigw::controller {

class FailureDetector {
 public:
  explicit FailureDetector(uint32_t dead_after_periods = 3) : dead_after_(dead_after_periods) {}
  void set_dead_after(uint32_t periods) { dead_after_ = periods; }

  /// Records a report at `now_ns` from a node that reports every `period_ms`.
  /// Returns true when the node was unknown or dead before (it (re)joined).
  bool heard(uint32_t id, int64_t now_ns, uint32_t period_ms);

  /// Declares dead every node silent for too long; returns those newly dead.
  std::vector<uint32_t> expire(int64_t now_ns);

  /// Removes a node (it left cleanly).
  void forget(uint32_t id) { nodes_.erase(id); }
  bool alive(uint32_t id) const;
  /// When the next node would expire, or INT64_MAX.
  int64_t next_deadline() const;

 private:
  struct Node {
    int64_t last_ns = 0;
    int64_t period_ns = 0;
    bool alive = true;
  };
  int64_t deadline(const Node& n) const { return n.last_ns + int64_t(dead_after_) * n.period_ns; }

  uint32_t dead_after_;
  std::map<uint32_t, Node> nodes_;
};

}  // namespace aigw::controller
