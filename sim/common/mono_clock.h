// The one place the simulator's tools read the clock; logic takes the time it returns.
#pragma once

#include <time.h>

#include <cstdint>

namespace aigw::sim {

/// CLOCK_MONOTONIC in nanoseconds.
inline int64_t mono_now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace aigw::sim
