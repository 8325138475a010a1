// Anti-replay window over a sender's monotonic counter (the RFC 4303 scheme): accepts
// each counter at most once and tolerates reordering within the last 64 values.
#pragma once

#include <cstdint>

namespace aigw {

class ReplayWindow {
 public:
  static constexpr uint64_t kWidth = 64;

  /// True when `counter` is new (not seen and not older than the window). Does not
  /// record it: call accept() only after the message authenticated.
  bool fresh(uint64_t counter) const;
  /// Records `counter` as seen. Precondition: fresh(counter).
  void accept(uint64_t counter);

  uint64_t highest() const { return highest_; }

 private:
  uint64_t highest_ = 0;  // 0 = nothing seen; counters start at 1
  uint64_t seen_ = 0;     // bit i: highest_ - i seen
};

}  // namespace aigw
