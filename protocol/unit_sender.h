// The unit sender (device uplink and gateway egress): fragments units, paces them,
// keeps the last D units for selective retransmission, answers NACKs with exactly the
// fragments named, releases units on acknowledgement and expires old ones. I/O-free:
// packets go out through a PacketOut the caller implements; time is a parameter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "protocol/data_header.h"
#include "protocol/nack.h"
#include "protocol/payload_sum.h"
#include "protocol/unit_buffer_pool.h"

namespace aigw {

struct SenderConfig {
  uint16_t max_payload = 728;            ///< fragment payload bytes (reference, docs/PERFORMANCE.md: 728);
                                         ///< clamped to [1, 65475]
  uint32_t store_units = 4;              ///< D: units kept for retransmission per stream (>= 1)
  int64_t store_ttl_ns = 3'000'000'000;  ///< a unit older than this is expired
  double pace_bytes_per_s = 0;           ///< 0: no pacing (send as fast as polled)
  uint32_t burst_bytes = 64 * 1024;      ///< token-bucket depth of the pacer
  /// Once the bucket runs dry, sending resumes only when it holds this much again (at
  /// most burst_bytes), so paced fragments leave in batches — one sendmmsg or GSO send,
  /// one wake-up — instead of one per wake-up. 0: as soon as one fragment may go.
  uint32_t pace_batch_bytes = 0;
  uint32_t max_streams = 4096;
  size_t store_budget_bytes = size_t{64} << 20;  ///< memory of the retransmit store
  uint32_t max_unit_bytes = 16u << 20;   ///< larger units are refused (<= 1 GiB)
  uint32_t resend_queue_entries = 65536;  ///< runs of fragments queued for retransmission
  /// For a receiver that acknowledges units (the gateway's egress): a unit still
  /// unacknowledged this long after its last fragment first left has that fragment sent
  /// again (a tail-loss probe, as TCP's TLP), so a receiver that missed the whole unit
  /// learns of it and NACKs the rest, and one whose ack was lost acknowledges again.
  /// Repeated after twice the wait each time, at most `max_probes` times; a NACK for the
  /// unit postpones the next probe. 0: no probes (the device uplink, which is not acked).
  int64_t probe_timeout_ns = 0;
  uint32_t max_probes = 3;
};

/// Where fragments go. One call per fragment; implementations batch (sendmmsg, bursts).
class PacketOut {
 public:
  virtual ~PacketOut() = default;
  /// `header` is kDataHeaderSize bytes, `payload` h.payload_length bytes; both valid
  /// only during the call. `payload_sum` is the payload's ones-complement sum when the
  /// unit brought its sums (UnitHandle::payload_sums), else kNoPayloadSum. Returns false
  /// when the transport is full (the sender keeps the fragment and tries again at the
  /// next poll).
  virtual bool send_fragment(uint32_t stream_id, const uint8_t* header, const uint8_t* payload,
                             size_t payload_len, uint32_t payload_sum) = 0;
};

enum class SubmitError : uint8_t {
  ok = 0,
  unknown_stream,
  empty_unit,
  unit_too_large,
  store_full,        ///< store budget exhausted even after expiring old units
  sequence_reused,   ///< unit seq already in the store
};

enum class NackAnswer : uint8_t {
  queued = 0,        ///< missing fragments queued for retransmission
  unknown_stream,
  unit_not_stored,   ///< expired or never sent: the receiver will report it lost
  malformed,         ///< NACK did not decode or did not match the unit
};

const char* to_string(SubmitError e);
const char* to_string(NackAnswer a);

struct SenderCounters {
  uint64_t units_submitted = 0;
  uint64_t fragments_sent = 0;
  uint64_t fragments_resent = 0;
  uint64_t bytes_sent = 0;
  uint64_t nacks_received = 0;
  uint64_t nacks_unanswerable = 0;
  uint64_t units_acked = 0;
  uint64_t units_expired = 0;
  uint64_t units_evicted = 0;  ///< dropped from the store by D or the budget before expiry
  uint64_t send_blocked = 0;
  uint64_t resend_dropped = 0;  ///< NACKed fragments not queued: retransmit queue full
  uint64_t probes_sent = 0;     ///< tail-loss probes (last fragments of unacked units) queued
};

/// Callback for units leaving the store (for loss accounting on the egress side).
class SenderEvents {
 public:
  virtual ~SenderEvents() = default;
  virtual void on_unit_released(uint32_t stream_id, uint32_t unit_seq, bool acknowledged) = 0;
};

class UnitSender {
 public:
  UnitSender(const SenderConfig& config, PacketOut& out, SenderEvents* events = nullptr);
  ~UnitSender();
  UnitSender(const UnitSender&) = delete;
  UnitSender& operator=(const UnitSender&) = delete;

  /// False when the stream is already there or the table (config().max_streams) is full.
  bool add_stream(uint32_t stream_id);
  bool has_stream(uint32_t stream_id) const;
  void remove_stream(uint32_t stream_id);

  /// Copies the unit into the store and queues its fragments. `flags` may carry
  /// data_flag::encrypted.
  SubmitError submit(uint32_t stream_id, uint32_t unit_seq, const uint8_t* data, uint32_t len,
                     uint8_t flags, int64_t now_ns);
  /// Same without a copy: takes the pooled buffer (gateway egress forwards by reference).
  SubmitError submit(uint32_t stream_id, uint32_t unit_seq, UnitHandle&& unit, uint8_t flags,
                     int64_t now_ns);

  /// Queues exactly the fragments named by one NACK chunk for retransmission.
  NackAnswer on_nack(uint32_t stream_id, uint32_t unit_seq, uint32_t fragment_count,
                     NackEncoding encoding, uint32_t first_fragment, uint32_t missing_count,
                     const uint8_t* bytes, size_t size, int64_t now_ns);
  /// The receiver has the unit whole: release it from the store.
  void on_ack(uint32_t stream_id, uint32_t unit_seq);

  /// Sends what pacing allows now (retransmissions first). Returns fragments sent.
  size_t poll(int64_t now_ns, size_t max_fragments = 256);
  /// Time of the next poll with work (pacing, a probe or expiry), or INT64_MAX. A time at or
  /// before the last poll means "now" (fragments wait and pacing allows them).
  int64_t next_deadline_ns() const;
  /// True when fragments are queued and not yet sent.
  bool has_pending() const;

  const SenderCounters& counters() const { return counters_; }
  const SenderConfig& config() const { return config_; }
  /// Changes the pacing rate (e.g. on migration or operator change).
  void set_pace(double bytes_per_s);

 private:
  struct Impl;
  SenderConfig config_;
  PacketOut& out_;
  SenderEvents* events_;
  SenderCounters counters_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aigw
