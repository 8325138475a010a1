#include "controller/core/failure_detector.h"

#include <algorithm>
#include <limits>

namespace aigw::controller {

bool FailureDetector::heard(uint32_t id, int64_t now_ns, uint32_t period_ms) {
  auto [it, inserted] = nodes_.try_emplace(id);
  const bool joined = inserted || !it->second.alive;
  Node& n = it->second;
  n.last_ns = std::max(n.last_ns, now_ns);
  n.period_ns = int64_t(period_ms == 0 ? 1000 : period_ms) * 1000000;
  n.probes_sent = 0;
  n.alive = true;
  return joined;
}

std::vector<uint32_t> FailureDetector::probes_due(int64_t now_ns) {
  std::vector<uint32_t> due_now;
  if (probing_.probes == 0) return due_now;
  for (auto& [id, n] : nodes_) {
    if (!n.alive || n.probes_sent >= probing_.probes || now_ns < suspect_at(n)) continue;
    if (n.probes_sent > 0 && now_ns < n.last_probe_ns + probing_.probe_interval_ns) continue;
    n.last_probe_ns = now_ns;
    ++n.probes_sent;
    due_now.push_back(id);
  }
  return due_now;
}

std::vector<uint32_t> FailureDetector::expire(int64_t now_ns) {
  std::vector<uint32_t> dead;
  for (auto& [id, n] : nodes_) {
    const bool ignored_probes = probing_.probes > 0 && n.probes_sent >= probing_.probes &&
                                now_ns >= n.last_probe_ns + probing_.probe_interval_ns;
    if (n.alive && (now_ns >= silence_deadline(n) || ignored_probes)) {
      n.alive = false;
      dead.push_back(id);
    }
  }
  return dead;
}

void FailureDetector::excuse(int64_t gap_ns) {
  for (auto& [id, n] : nodes_) {
    n.last_ns += gap_ns;
    n.probes_sent = 0;
  }
}

bool FailureDetector::alive(uint32_t id) const {
  auto it = nodes_.find(id);
  return it != nodes_.end() && it->second.alive;
}

int64_t FailureDetector::due(const Node& n) const {
  int64_t t = silence_deadline(n);
  if (probing_.probes == 0) return t;
  if (n.probes_sent == 0) return std::min(t, suspect_at(n));
  return std::min(t, n.last_probe_ns + probing_.probe_interval_ns);  // next probe, or the verdict
}

int64_t FailureDetector::next_deadline_ns() const {
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& [id, n] : nodes_)
    if (n.alive) next = std::min(next, due(n));
  return next;
}

}  // namespace aigw::controller
