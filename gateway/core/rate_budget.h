// A token bucket for replies the gateway owes nobody (ICMP echo): at most `per_second`
// on average and `burst` at once, so answering a flood costs the data path a bounded
// share. Time comes in as an argument; no allocation, no locks (one per lcore).
#pragma once

#include <algorithm>
#include <cstdint>

namespace aigw {

class RateBudget {
 public:
  RateBudget(double per_second, double burst) : per_ns_(per_second / 1e9), burst_(burst), tokens_(burst) {}

  /// Takes one token if there is one at `now_ns`.
  bool take(int64_t now_ns) {
    if (now_ns > last_ns_) {
      tokens_ = std::min(burst_, tokens_ + double(now_ns - last_ns_) * per_ns_);
      last_ns_ = now_ns;
    }
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  double per_ns_;
  double burst_;
  double tokens_;
  int64_t last_ns_ = 0;
};

}  // namespace aigw
