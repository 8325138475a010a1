// Fixed-capacity open-addressing index from a 64-bit key to a 32-bit slot number, for
// the engines' stream and unit tables: sized once, never allocates afterwards, linear
// probing with backward-shift deletion (no tombstones, so lookups stay short forever).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace aigw {

class FlatIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  /// Room for `max_entries` keys at a load factor of at most one half.
  explicit FlatIndex(size_t max_entries) {
    size_t cap = 16;
    while (cap < 2 * max_entries) cap <<= 1;
    mask_ = cap - 1;
    keys_.assign(cap, 0);
    values_.assign(cap, kNone);
  }

  /// The value stored for `key`, or kNone.
  uint32_t find(uint64_t key) const {
    for (size_t i = home(key);; i = (i + 1) & mask_) {
      if (values_[i] == kNone) return kNone;
      if (keys_[i] == key) return values_[i];
    }
  }

  /// Inserts or overwrites. The caller keeps the entry count within max_entries.
  void insert(uint64_t key, uint32_t value) {
    size_t i = home(key);
    while (values_[i] != kNone && keys_[i] != key) i = (i + 1) & mask_;
    keys_[i] = key;
    values_[i] = value;
  }

  /// Removes `key` if present.
  void erase(uint64_t key) {
    size_t i = home(key);
    for (;; i = (i + 1) & mask_) {
      if (values_[i] == kNone) return;
      if (keys_[i] == key) break;
    }
    // Backward shift: pull later members of the probe run into the hole when their
    // home position does not lie cyclically in (hole, j].
    size_t hole = i;
    for (size_t j = (hole + 1) & mask_; values_[j] != kNone; j = (j + 1) & mask_) {
      const size_t h = home(keys_[j]);
      const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (stays) continue;
      keys_[hole] = keys_[j];
      values_[hole] = values_[j];
      hole = j;
    }
    values_[hole] = kNone;
  }

 private:
  size_t home(uint64_t key) const {
    // Fibonacci hashing: consecutive stream ids and unit seqs spread over the table.
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 32) & mask_;
  }

  std::vector<uint64_t> keys_;
  std::vector<uint32_t> values_;
  size_t mask_;
};

}  // namespace aigw
