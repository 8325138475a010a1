#include "controller/failure_detector.h"

#include <limits>

namespace aigw::controller {

bool FailureDetector::heard(uint32_t id, int64_t now_ns, uint32_t period_ms) {
  auto [it, inserted] = nodes_.try_emplace(id);
  const bool joined = inserted || !it->second.alive;
  it->second.last_ns = now_ns;
  it->second.period_ns = int64_t(period_ms == 0 ? 1000 : period_ms) * 1000000;
  it->second.alive = true;
  return joined;
}

std::vector<uint32_t> FailureDetector::expire(int64_t now_ns) {
  std::vector<uint32_t> dead;
  for (auto& [id, n] : nodes_) {
    if (n.alive && now_ns >= deadline(n)) {
      n.alive = false;
      dead.push_back(id);
    }
  }
  return dead;
}

bool FailureDetector::alive(uint32_t id) const {
  auto it = nodes_.find(id);
  return it != nodes_.end() && it->second.alive;
}

int64_t FailureDetector::next_deadline() const {
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& [id, n] : nodes_)
    if (n.alive) next = std::min(next, deadline(n));
  return next;
}

}  // namespace aigw::controller
