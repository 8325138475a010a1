#include "sim/impair/impairment.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

namespace aigw::sim {

double BurstLoss::stationary_loss() const {
  if (!enabled()) return 0;
  const double p = p_good_to_bad, r = p_bad_to_good;
  if (p + r <= 0) return loss_in_good;
  return (r * loss_in_good + p * loss_in_bad) / (p + r);
}

bool ImpairmentConfig::active() const {
  return loss > 0 || burst.enabled() || duplicate > 0 || reorder > 0 || delay_ns > 0 ||
         jitter_ns > 0 || rate_bps > 0;
}

std::string ImpairmentConfig::validate() const {
  auto prob = [](double v) { return std::isfinite(v) && v >= 0 && v <= 1; };
  if (!prob(loss)) return fmt::format("loss {} is not a probability in [0, 1]", loss);
  if (!prob(duplicate)) return fmt::format("duplicate {} is not a probability in [0, 1]", duplicate);
  if (!prob(reorder)) return fmt::format("reorder {} is not a probability in [0, 1]", reorder);
  if (!prob(burst.p_good_to_bad) || !prob(burst.p_bad_to_good) || !prob(burst.loss_in_good) ||
      !prob(burst.loss_in_bad))
    return "burst: every field is a probability in [0, 1]";
  if (burst.enabled() && burst.p_bad_to_good <= 0)
    return "burst: p_bad_to_good must be > 0 (the chain would never leave the Bad state)";
  if (delay_ns < 0 || jitter_ns < 0 || reorder_delay_ns < 0) return "delays must be >= 0";
  if (!std::isfinite(rate_bps) || rate_bps < 0) return "rate must be >= 0";
  if (max_packets == 0 || max_packets > (size_t{1} << 24)) return "max_packets must be in [1, 16M]";
  if (max_packet_bytes < 64 || max_packet_bytes > 65536)
    return "max_packet_bytes must be in [64, 65536]";
  return {};
}

const char* to_string(ImpairDrop d) {
  switch (d) {
    case ImpairDrop::loss: return "loss";
    case ImpairDrop::burst_loss: return "burst_loss";
    case ImpairDrop::queue_full: return "queue_full";
    case ImpairDrop::pool_full: return "pool_full";
    case ImpairDrop::too_large: return "too_large";
    case ImpairDrop::kCount: break;
  }
  return "unknown";
}

uint64_t ImpairCounters::dropped_total() const {
  uint64_t n = 0;
  for (uint64_t d : dropped) n += d;
  return n;
}

Impairment::Impairment(const ImpairmentConfig& config)
    : config_(config),
      rng_(config.seed),
      storage_(config.max_packets * config.max_packet_bytes),
      free_slots_(config.max_packets) {
  // Slots are handed out from the back; fill so slot 0 goes first.
  for (size_t i = 0; i < config_.max_packets; ++i)
    free_slots_[i] = static_cast<uint32_t>(config_.max_packets - 1 - i);
  heap_.reserve(config_.max_packets);
}

double Impairment::uniform() {
  // 53 random bits -> [0, 1); identical on every platform, unlike uniform_real_distribution.
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

void Impairment::submit(const uint8_t* data, size_t len, uint32_t tag, int64_t now_ns) {
  ++counters_.packets_in;
  counters_.bytes_in += len;
  auto drop = [this](ImpairDrop why) { ++counters_.dropped[static_cast<size_t>(why)]; };
  if (len > config_.max_packet_bytes) return drop(ImpairDrop::too_large);

  // Draw every decision in a fixed order so the fate of packet n depends only on the
  // seed and n, whatever the other settings are.
  const bool lost = chance(config_.loss);
  bool burst_lost = false;
  if (config_.burst.enabled()) {
    if (bad_state_) {
      if (chance(config_.burst.p_bad_to_good)) bad_state_ = false;
    } else if (chance(config_.burst.p_good_to_bad)) {
      bad_state_ = true;
      ++counters_.bursts;
    }
    burst_lost = chance(bad_state_ ? config_.burst.loss_in_bad : config_.burst.loss_in_good);
  }
  const bool duplicated = chance(config_.duplicate);
  const bool held_back = chance(config_.reorder);
  const double jitter = config_.jitter_ns > 0 ? uniform() : 0;

  if (lost) return drop(ImpairDrop::loss);
  if (burst_lost) return drop(ImpairDrop::burst_loss);

  int64_t leave_ns = now_ns;
  if (config_.rate_bps > 0) {
    const int64_t backlog_ns = std::max<int64_t>(0, link_free_ns_ - now_ns);
    const double backlog_bytes = static_cast<double>(backlog_ns) * config_.rate_bps / 8e9;
    if (backlog_bytes + static_cast<double>(len) > static_cast<double>(config_.queue_bytes))
      return drop(ImpairDrop::queue_full);
    const auto tx_ns = static_cast<int64_t>(static_cast<double>(len) * 8e9 / config_.rate_bps);
    link_free_ns_ = std::max(link_free_ns_, now_ns) + tx_ns;
    leave_ns = link_free_ns_;
  }
  int64_t release_ns =
      leave_ns + config_.delay_ns + static_cast<int64_t>(jitter * static_cast<double>(config_.jitter_ns));
  if (held_back) {
    release_ns += config_.reorder_delay_ns;
  } else {
    // Jitter must not reorder on its own: only held-back packets overtake.
    release_ns = std::max(release_ns, last_in_order_ns_);
    last_in_order_ns_ = release_ns;
  }
  if (!enqueue(data, len, tag, release_ns)) return drop(ImpairDrop::pool_full);
  if (held_back) ++counters_.reordered;
  // The copy follows its original at once; with no free slot the duplicate is skipped.
  if (duplicated && enqueue(data, len, tag, release_ns)) ++counters_.duplicated;
}

bool Impairment::enqueue(const uint8_t* data, size_t len, uint32_t tag, int64_t release_ns) {
  if (free_slots_.empty()) return false;
  const uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  std::memcpy(storage_.data() + size_t{slot} * config_.max_packet_bytes, data, len);
  heap_.push_back(Entry{release_ns, order_++, slot, static_cast<uint32_t>(len), tag});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
  return true;
}

size_t Impairment::release(int64_t now_ns, PacketSink& sink) {
  size_t n = 0;
  while (!heap_.empty() && heap_.front().release_ns <= now_ns) {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    const Entry e = heap_.back();
    heap_.pop_back();
    sink.deliver(storage_.data() + size_t{e.slot} * config_.max_packet_bytes, e.len, e.tag);
    free_slots_.push_back(e.slot);
    ++counters_.packets_out;
    counters_.bytes_out += e.len;
    ++n;
  }
  return n;
}

int64_t Impairment::next_release_ns() const {
  return heap_.empty() ? INT64_MAX : heap_.front().release_ns;
}

}  // namespace aigw::sim
