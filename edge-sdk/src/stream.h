// One admitted stream on the device: its unit sender (fragmenter, pacer, retransmit
// store), where its fragments go (with the unit-boundary switch of a migration), the
// unit scratch buffer (sealing and digest) and its statistics.
//
// Thread context: owned by DeviceCore; called only with the handle's lock held.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "aigw/edge.h"
#include "edge-sdk/src/allocator.h"
#include "edge-sdk/src/core_io.h"
#include "protocol/udp_endpoint.h"
#include "protocol/unit_sender.h"

namespace aigw::edge {

/// The stream's demand and options, as given to open_stream.
struct StreamSetup {
  uint32_t unit_bytes = 0;
  uint32_t period_ms = 0;
  std::string model;
  double pace_bytes_per_s = 0;  ///< 0: twice the average rate
  bool encrypted = false;
  std::array<uint8_t, AIGW_UNIT_KEY_BYTES> payload_key{};
};

/// Fragmentation and store settings shared by the handle's streams.
struct StreamLimits {
  uint16_t max_payload = 728;
  uint32_t store_units = 4;
  int64_t store_ttl_ns = 3'000'000'000;
};

/// A gateway data port a stream sends to.
struct Route {
  UdpEndpoint endpoint;
  uint32_t gateway_id = 0;
};

/// True when unit sequence number `a` comes before `b` (serial arithmetic, wraps).
inline bool seq_before(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

class Stream final : public PacketOut {
 public:
  Stream(uint32_t id, const StreamSetup& setup, const StreamLimits& limits, const Route& route,
         uint32_t first_unit_seq, CoreIo& io, std::vector<aigw_event>& events);
  ~Stream() override;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  /// Allocates the scratch buffer and registers with the sender; false on no memory.
  bool init(const Allocator& alloc);

  /// Seals/digests the unit, stores and queues it, sends what pacing allows.
  /// Returns an aigw_error code.
  int send_unit(const uint8_t* data, size_t len, int64_t now_ns);
  /// Answers one RetransmitRequest chunk.
  NackAnswer on_nack(uint32_t unit_seq, uint32_t fragment_count, NackEncoding encoding,
                     uint32_t first_fragment, uint32_t missing_count, const uint8_t* bytes,
                     size_t size, int64_t now_ns);
  /// MigrateCommand SWITCH: units from the returned sequence number on go to `to`.
  /// It is `switch_seq` unless the device already began that unit, then the next unit
  /// it starts. A repeated migration id returns the first answer and changes nothing.
  uint32_t switch_gateway(const Route& to, uint32_t switch_seq, uint64_t migration_id);

  /// Sends due fragments (retransmissions first). Returns fragments sent.
  size_t poll(int64_t now_ns);
  int64_t next_deadline_ns() const { return sender_.next_deadline_ns(); }

  /// Stops taking units; the store keeps answering NACKs until `forget_at_ns`.
  void close(int64_t forget_at_ns);
  bool closed() const { return closed_; }
  int64_t forget_at_ns() const { return forget_at_ns_; }

  uint32_t id() const { return id_; }
  uint32_t next_unit_seq() const { return next_seq_; }
  /// The gateway the next new unit goes to.
  const Route& current_route() const { return route_for(next_seq_); }
  void fill_stats(aigw_stream_stats& out) const;

 private:
  bool send_fragment(uint32_t stream_id, const uint8_t* header, const uint8_t* payload,
                     size_t payload_len, uint32_t payload_sum) override;
  const Route& route_for(uint32_t unit_seq) const;
  size_t wire_capacity() const;
  uint64_t first_transmissions() const;

  uint32_t id_;
  StreamSetup setup_;
  uint32_t store_units_;
  uint16_t max_payload_;
  CoreIo& io_;
  std::vector<aigw_event>& events_;
  UnitSender sender_;
  HookBuffer scratch_;
  // Ring of D entries: for the n-th unit submitted, how many first transmissions the
  // stream has made once that unit has completely left (cumulative fragment counts).
  HookBuffer unit_ends_;
  // Units before switch_seq_ go to previous_, the rest to route_ (one migration back
  // is remembered: the store never holds units older than that).
  Route route_;
  Route previous_;
  uint32_t switch_seq_;
  uint64_t last_migration_id_ = 0;
  uint32_t last_switch_answer_ = 0;
  uint64_t migrations_ = 0;
  uint32_t next_seq_;
  bool closed_ = false;
  int64_t forget_at_ns_ = 0;
};

/// Fills an aigw_event's gateway fields from a route.
void set_event_gateway(aigw_event& ev, const Route& route);

}  // namespace aigw::edge
