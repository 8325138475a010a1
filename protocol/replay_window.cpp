#include "protocol/replay_window.h"

namespace aigw {

bool ReplayWindow::fresh(uint64_t counter) const {
  if (counter == 0) return false;
  if (counter > highest_) return true;
  uint64_t age = highest_ - counter;
  if (age >= kWidth) return false;
  return (seen_ & (uint64_t{1} << age)) == 0;
}

void ReplayWindow::accept(uint64_t counter) {
  if (counter > highest_) {
    uint64_t shift = counter - highest_;
    seen_ = shift >= kWidth ? 0 : seen_ << shift;
    seen_ |= 1;
    highest_ = counter;
  } else {
    seen_ |= uint64_t{1} << (highest_ - counter);
  }
}

}  // namespace aigw
