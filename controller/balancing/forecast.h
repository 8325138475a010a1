// Brown's double exponential smoothing (docs/controller.md §2.1), the controller's load predictor:
//   S1 = a*x + (1-a)*S1,  S2 = a*S1 + (1-a)*S2,  A = 2*S1 - S2,  B = a/(1-a)*(S1 - S2),
//   F(t+m) = A + m*B, initialised S1 = S2 = x0.
#pragma once

namespace aigw::controller {

/// Forecast state of one series. Pure arithmetic; the caller feeds one sample per period.
class BrownForecast {
 public:
  /// alpha in (0, 1).
  explicit BrownForecast(double alpha = 0.5) : alpha_(alpha) {}

  void set_alpha(double alpha) { alpha_ = alpha; }
  double alpha() const { return alpha_; }

  /// Adds the sample of the period that just ended.
  void update(double x) {
    if (!primed_) {
      s1_ = s2_ = x;
      primed_ = true;
      return;
    }
    s1_ = alpha_ * x + (1 - alpha_) * s1_;
    s2_ = alpha_ * s1_ + (1 - alpha_) * s2_;
  }

  /// Level A and trend B of the current state.
  double level() const { return 2 * s1_ - s2_; }
  double trend() const { return alpha_ / (1 - alpha_) * (s1_ - s2_); }
  /// F(t+m): the predicted value m periods ahead.
  double forecast(double m = 1) const { return level() + m * trend(); }

  bool primed() const { return primed_; }
  double s1() const { return s1_; }
  double s2() const { return s2_; }

 private:
  double alpha_;
  double s1_ = 0;
  double s2_ = 0;
  bool primed_ = false;
};

}  // namespace aigw::controller
