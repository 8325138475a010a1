// The GPU-server emulator's core: receives units from gateways' egress through the
// protocol UnitReceiver, verifies each one end to end (the unit digest), acknowledges
// it to the gateway that sent it (UnitAck) or asks for missing fragments
// (RetransmitRequest), queues verified units on the modelled accelerator, and reports
// to the controller (GpuRegister, GpuLoadSync). I/O-free: datagrams and the time come
// in as arguments, sealed datagrams go out through GpuOutput.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/envelope.h"
#include "protocol/unit_receiver.h"
#include "sim/common/udp_endpoint.h"
#include "sim/gpu/accelerator.h"

namespace aigw::sim {

/// Sender id of a GPU server in control envelopes: role 3 in the top byte.
inline uint32_t gpu_sender_id(uint32_t gpu_id) { return (3u << 24) | (gpu_id & 0xFFFFFF); }

struct GpuNodeConfig {
  uint32_t gpu_id = 1;
  std::vector<std::string> models{"openpose"};
  double capacity_units_per_s = 1000;
  Endpoint data_endpoint;     ///< where gateways send units (advertised in GpuRegister)
  Endpoint control_endpoint;  ///< advertised control address
  uint32_t key_id = 1;
  ControlKey key{};
  int64_t period_ns = 1'000'000'000;
  uint32_t register_every_periods = 10;
  ReceiverConfig receiver;
  AcceleratorConfig accelerator;
  uint32_t max_streams = 65536;
};

/// Where the node's sealed datagrams go.
class GpuOutput {
 public:
  virtual ~GpuOutput() = default;
  virtual void to_gateway(const Endpoint& egress, const uint8_t* data, size_t len) = 0;
  virtual void to_controller(const uint8_t* data, size_t len) = 0;
};

/// What happened to the units of one stream at this GPU server.
struct GpuStreamRecord {
  uint64_t verified = 0;
  uint64_t recovered = 0;  ///< verified after at least one NACK round
  uint64_t corrupt = 0;    ///< whole, but the digest did not match
  std::map<std::string, uint64_t> lost;  ///< receiver losses by reason
  uint32_t last_seq = 0;
  uint64_t nacks = 0;
};

struct GpuNodeCounters {
  uint64_t datagrams = 0;
  uint64_t malformed = 0;          ///< header did not decode
  uint64_t streams_refused = 0;    ///< new stream over max_streams
  uint64_t units_completed = 0;
  uint64_t units_verified = 0;
  uint64_t units_corrupt = 0;
  uint64_t units_lost = 0;
  uint64_t units_not_queued = 0;   ///< accelerator queue full
  uint64_t acks_sent = 0;
  uint64_t acks_repeated = 0;      ///< for a gateway's probe of a unit already verified
  uint64_t nacks_sent = 0;
  uint64_t syncs_sent = 0;
  uint64_t seal_failures = 0;
};

/// \threadbound Driven by one loop.
class GpuNode final : ReceiverEvents, BatchSink {
 public:
  GpuNode(const GpuNodeConfig& config, GpuOutput& out, int64_t now_ns);
  ~GpuNode() override;

  /// One datagram on the data socket from a gateway's egress `from`.
  void on_data(const Endpoint& from, const uint8_t* data, size_t len, int64_t now_ns);
  /// Timers: receiver NACKs and losses, batches, periodic reports.
  void on_timer(int64_t now_ns);
  int64_t next_timer_ns() const;
  /// Sends GpuRegister with leaving = true.
  void leave();

  const GpuNodeCounters& counters() const { return counters_; }
  const std::map<uint32_t, GpuStreamRecord>& streams() const { return records_; }
  const Accelerator& accelerator() const { return accel_; }
  const UnitReceiver& receiver() const { return *receiver_; }
  double last_load() const { return last_load_; }

 private:
  // The source of each of a stream's recent units: NACKs go to the gateway that sent
  // the unit (during a migration the old and the new gateway both send).
  static constexpr size_t kSourceRing = 16;
  // Recently verified units: a gateway's probe for one of them means the ack was lost.
  static constexpr size_t kVerifiedRing = 16;
  struct StreamRoute {
    std::array<std::pair<uint32_t, Endpoint>, kSourceRing> sources{};
    std::array<uint32_t, kVerifiedRing> verified{};
    uint32_t verified_n = 0;  // entries written (the ring holds the last kVerifiedRing)
    uint32_t model = 0;
    bool was_verified(uint32_t seq) const;
  };

  void on_unit_complete(const CompletedUnit& info, UnitHandle& unit) override;
  void on_unit_lost(const LostUnit& info) override;
  void on_nack(const NackOut& nack) override;
  void on_batch(const BatchResult&) override {}

  const Endpoint* source_of(const StreamRoute& r, uint32_t unit_seq) const;
  void send_ack(const StreamRoute& r, uint32_t stream_id, uint32_t unit_seq);
  void send_gateway(const Endpoint& to, MessageType type, const std::string& body);
  void send_controller(MessageType type, const std::string& body);
  void send_register(bool leaving);
  void send_load_sync(int64_t now_ns);

  GpuNodeConfig config_;
  GpuOutput& out_;
  EnvelopeSealer sealer_;
  std::unique_ptr<UnitReceiver> receiver_;
  Accelerator accel_;
  std::map<uint32_t, StreamRoute> routes_;
  std::map<uint32_t, GpuStreamRecord> records_;
  GpuNodeCounters counters_;
  std::vector<uint8_t> tx_;
  std::string body_;
  int64_t now_ns_ = 0;
  int64_t next_period_ns_ = 0;
  uint64_t period_seq_ = 0;
  double last_load_ = 0;
};

}  // namespace aigw::sim
