// Bounded polling of state that another thread updates under a mutex: the tests'
// node threads (loopback gateways, controller) publish under `mu`, the test waits.
#pragma once

#include <chrono>
#include <mutex>
#include <thread>

namespace aigw {

/// Returns true as soon as `pred()` holds (evaluated under `mu`), false after `limit`.
template <typename Pred>
bool wait_for_locked(std::mutex& mu, Pred pred, std::chrono::milliseconds limit,
                     std::chrono::milliseconds poll = std::chrono::milliseconds(2)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (pred()) return true;
    }
    std::this_thread::sleep_for(poll);
  }
  return false;
}

}  // namespace aigw
