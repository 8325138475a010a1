// When to migrate (docs/controller.md §2.3): the load standard deviation must stay above theta for
// k consecutive periods to start balancing, and balancing goes on until it falls below
// a lower threshold, so a load hovering near theta does not make streams flap.
#pragma once

#include <cstdint>

namespace aigw::controller {

struct TriggerParams {
  double theta = 0.1;            // start threshold
  double lower = 0.05;           // stop threshold (<= theta)
  uint32_t consecutive = 3;      // k periods over theta before starting
};

class LsdTrigger {
 public:
  explicit LsdTrigger(const TriggerParams& p = {}) : p_(p) {}
  void set_params(const TriggerParams& p) { p_ = p; }

  /// Feeds the LSD of one period; returns true when this period should plan moves.
  bool update(double lsd) {
    if (active_) {
      if (lsd < p_.lower) {
        active_ = false;
        over_ = 0;
      }
      return active_;
    }
    over_ = lsd > p_.theta ? over_ + 1 : 0;
    if (over_ >= p_.consecutive) active_ = true;
    return active_;
  }

  bool active() const { return active_; }
  uint32_t periods_over() const { return over_; }

 private:
  TriggerParams p_;
  bool active_ = false;
  uint32_t over_ = 0;
};

}  // namespace aigw::controller
