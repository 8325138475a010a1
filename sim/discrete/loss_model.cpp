#include "sim/discrete/loss_model.h"

#include <algorithm>
#include <cmath>

namespace aigw::sim {

double mm1k_loss(double rho, uint32_t k) {
  if (rho <= 0) return 0;
  if (std::fabs(rho - 1) < 1e-9) return 1.0 / (k + 1);
  // (1 - rho) rho^K / (1 - rho^(K+1)), in logs so large K and rho do not overflow.
  const double lk = k * std::log(rho), lk1 = (k + 1) * std::log(rho);
  if (rho > 1) return (rho - 1) / (rho - std::exp(-lk));  // divided through by rho^(K+1)
  return (1 - rho) * std::exp(lk) / (1 - std::exp(lk1));
}

double overload_loss(const PortLossParams& p, double rho) {
  double loss = 0;
  if (rho > p.overload_knee && p.overload_knee < 1) {
    const double x = (std::min(rho, 1.0) - p.overload_knee) / (1 - p.overload_knee);
    loss = p.overload_loss * x * x;
  }
  if (rho > 1) loss = std::max(loss, 1 - 1 / rho);
  return std::min(1.0, loss);
}

double port_loss(const PortLossParams& p, double rho) {
  const double keep = (1 - std::clamp(p.base_loss, 0.0, 1.0)) * (1 - overload_loss(p, rho)) *
                      (1 - mm1k_loss(rho, p.queue_packets));
  return std::clamp(1 - keep, 0.0, 1.0);
}

}  // namespace aigw::sim
