// The impairment core of aigw-impair: decides, for each packet offered at a given time,
// whether it is lost (independent or Gilbert–Elliott burst loss), whether it is
// duplicated or held back (reordering), and when it leaves (delay, jitter, rate limit).
// I/O-free and clock-free: the relay passes the time in and drains due packets, so a
// seeded run gives the same fate to the same packet sequence every time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace aigw::sim {

/// Gilbert–Elliott two-state loss: per packet the chain steps Good->Bad with
/// `p_good_to_bad` and Bad->Good with `p_bad_to_good`, then the packet is lost with the
/// state's loss probability. Stationary loss = (r*lg + p*lb) / (p + r); mean burst
/// (time in Bad) = 1 / r packets.
struct BurstLoss {
  double p_good_to_bad = 0;
  double p_bad_to_good = 1;
  double loss_in_good = 0;
  double loss_in_bad = 1;

  bool enabled() const { return p_good_to_bad > 0; }
  /// Long-run loss fraction this chain produces on its own.
  double stationary_loss() const;
};

/// What a link does to packets. Probabilities are per packet in [0, 1]; times in ns.
struct ImpairmentConfig {
  uint64_t seed = 1;
  double loss = 0;                      ///< independent (Bernoulli) loss
  BurstLoss burst;                      ///< correlated loss, applied after `loss`
  double duplicate = 0;                 ///< packet sent twice
  double reorder = 0;                   ///< packet held back by `reorder_delay_ns`
  int64_t reorder_delay_ns = 2'000'000;
  int64_t delay_ns = 0;                 ///< fixed one-way delay
  int64_t jitter_ns = 0;                ///< extra delay uniform in [0, jitter]; keeps order
  double rate_bps = 0;                  ///< link rate; 0 = unlimited
  size_t queue_bytes = size_t{1} << 20; ///< backlog of the rate limiter (tail drop beyond)
  size_t max_packets = 8192;            ///< packets held at once (preallocated)
  size_t max_packet_bytes = 2048;       ///< larger datagrams are dropped as too_large

  /// True when any impairment is configured (otherwise packets pass untouched).
  bool active() const;
  /// Empty when every field is in range; otherwise what is wrong.
  std::string validate() const;
};

/// Why the impairment dropped a packet. Every value has its own counter.
enum class ImpairDrop : uint8_t {
  loss = 0,    ///< independent loss
  burst_loss,  ///< Gilbert–Elliott loss
  queue_full,  ///< rate limiter backlog exceeded queue_bytes
  pool_full,   ///< max_packets already held
  too_large,   ///< datagram larger than max_packet_bytes
  kCount
};

const char* to_string(ImpairDrop d);

struct ImpairCounters {
  uint64_t packets_in = 0;
  uint64_t bytes_in = 0;
  uint64_t packets_out = 0;
  uint64_t bytes_out = 0;
  uint64_t dropped[static_cast<size_t>(ImpairDrop::kCount)] = {};
  uint64_t duplicated = 0;
  uint64_t reordered = 0;
  uint64_t bursts = 0;  ///< entries into the Bad state

  uint64_t dropped_total() const;
};

/// Receives released packets. `tag` is the caller's value given to submit().
class PacketSink {
 public:
  virtual ~PacketSink() = default;
  virtual void deliver(const uint8_t* data, size_t len, uint32_t tag) = 0;
};

/// \threadbound One instance per direction of a relay, driven by one loop.
class Impairment {
 public:
  explicit Impairment(const ImpairmentConfig& config);

  /// Decides the fate of one packet offered at `now_ns` and queues what survives.
  /// No allocation: the packet is copied into a preallocated slot.
  void submit(const uint8_t* data, size_t len, uint32_t tag, int64_t now_ns);
  /// Hands every packet due at or before `now_ns` to `sink`, in release order.
  /// Returns how many were delivered.
  size_t release(int64_t now_ns, PacketSink& sink);
  /// Release time of the next queued packet, or INT64_MAX.
  int64_t next_release_ns() const;
  size_t queued() const { return heap_.size(); }

  const ImpairCounters& counters() const { return counters_; }
  const ImpairmentConfig& config() const { return config_; }

 private:
  struct Entry {
    int64_t release_ns;
    uint64_t order;  // ties keep submission order
    uint32_t slot;
    uint32_t len;
    uint32_t tag;
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.release_ns != b.release_ns ? a.release_ns > b.release_ns : a.order > b.order;
    }
  };

  double uniform();  // [0, 1)
  bool chance(double p) { return p > 0 && uniform() < p; }
  bool enqueue(const uint8_t* data, size_t len, uint32_t tag, int64_t release_ns);

  ImpairmentConfig config_;
  std::mt19937_64 rng_;
  bool bad_state_ = false;
  int64_t link_free_ns_ = 0;       // when the rate-limited link finishes its backlog
  int64_t last_in_order_ns_ = 0;   // release time of the last packet not held back
  uint64_t order_ = 0;
  std::vector<uint8_t> storage_;
  std::vector<uint32_t> free_slots_;
  std::vector<Entry> heap_;
  ImpairCounters counters_;
};

}  // namespace aigw::sim
