// The GPU server's protocol core: receives units from gateways' egress through the
// protocol UnitReceiver, verifies each one end to end (digest; AEAD tag when encrypted,
// opened in place), acknowledges it to the gateway that sent it (UnitAck) or asks for
// missing fragments (RetransmitRequest), keeps it held for the application until it is
// released, and reports to the controller (GpuRegister, GpuLoadSync).
// I/O-free: datagrams and the time come in as arguments, sealed datagrams go out
// through ServerOutput, verified units are queued as tokens for the caller to take.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/envelope.h"
#include "protocol/node_keys.h"
#include "protocol/udp_endpoint.h"
#include "protocol/unit_receiver.h"

namespace aigw::server {

/// Sender id of a GPU server in control envelopes (protocol/node_identity.h).
inline uint32_t gpu_sender_id(uint32_t gpu_id) { return make_sender_id(NodeRole::gpu, gpu_id); }

struct ServerConfig {
  uint32_t gpu_id = 1;
  std::vector<std::string> models{"openpose"};
  double capacity_units_per_s = 1000;
  UdpEndpoint data_endpoint;     ///< where gateways send units (advertised in GpuRegister)
  UdpEndpoint control_endpoint;  ///< advertised control address
  uint32_t key_id = 1;
  ControlKey key{};
  int64_t period_ns = 1'000'000'000;
  uint32_t register_every_periods = 10;
  ReceiverConfig receiver;
  uint32_t max_held_units = 256;
  uint32_t max_streams = 65536;
  bool have_payload_key = false;
  std::array<uint8_t, 32> payload_key{};
};

/// Where the core's sealed datagrams go.
class ServerOutput {
 public:
  virtual ~ServerOutput() = default;
  virtual void to_gateway(const UdpEndpoint& egress, const uint8_t* data, size_t len) = 0;
  virtual void to_controller(const uint8_t* data, size_t len) = 0;
};

/// A unit held for the application: its buffer and what is known about it.
struct HeldUnit {
  UnitHandle buffer;
  uint32_t generation = 0;
  bool in_use = false;
  uint32_t stream_id = 0;
  uint32_t unit_seq = 0;
  uint32_t model = 0;      ///< index into ServerConfig::models
  uint32_t offset = 0;     ///< application bytes start here in the buffer
  uint32_t length = 0;
  uint32_t flags = 0;      ///< aigw_unit_flags
  uint32_t nack_rounds = 0;
  uint32_t retransmitted_fragments = 0;
  int64_t first_fragment_ns = 0;
  int64_t completed_ns = 0;
  UdpEndpoint gateway;
  int32_t next_free = -1;
};

struct ServerCounters {
  uint64_t datagrams = 0;
  uint64_t malformed = 0;
  uint64_t streams_refused = 0;
  uint64_t units_completed = 0;
  uint64_t units_verified = 0;
  uint64_t units_corrupt = 0;
  uint64_t units_auth_failed = 0;
  uint64_t units_lost = 0;
  uint64_t units_refused_held = 0;
  uint64_t acks_sent = 0;
  uint64_t acks_repeated = 0;
  uint64_t nacks_sent = 0;
  uint64_t syncs_sent = 0;
  uint64_t seal_failures = 0;
  uint64_t control_received = 0;
  uint64_t control_rejected = 0;    ///< envelope did not open, or a role that may not send it
  uint64_t pair_keys_learned = 0;
  uint64_t no_pair_key = 0;         ///< an ack or NACK for a gateway whose key is not known yet
};

/// Per-stream outcome, for statistics.
struct StreamRecord {
  uint64_t verified = 0;
  uint64_t recovered = 0;
  uint64_t corrupt = 0;
  uint64_t auth_failed = 0;
  std::map<std::string, uint64_t> lost;  ///< receiver losses by reason
  uint32_t last_seq = 0;
  uint64_t nacks = 0;
};

/// \threadbound Driven by one thread at a time (the handle's lock).
class ServerCore final : ReceiverEvents {
 public:
  ServerCore(const ServerConfig& config, ServerOutput& out, int64_t now_ns);
  ~ServerCore() override;
  ServerCore(const ServerCore&) = delete;
  ServerCore& operator=(const ServerCore&) = delete;

  /// One datagram on the data socket from a gateway's egress `from`.
  void on_data(const UdpEndpoint& from, const uint8_t* data, size_t len, int64_t now_ns);
  /// One datagram on the control socket: the controller's PeerKeys and heartbeats.
  void on_control(const uint8_t* data, size_t len);
  /// Timers: receiver NACKs and losses, periodic reports.
  void poll(int64_t now_ns);
  int64_t next_deadline_ns() const;
  /// Sends GpuRegister with leaving = true.
  void leave();

  /// Tokens of verified units, oldest first, not yet taken by the application.
  bool has_ready() const { return ready_count_ > 0; }
  /// Takes the oldest ready unit; false when none.
  bool take_ready(uint64_t& token);
  /// The held unit behind a token, or nullptr when the token is stale.
  const HeldUnit* held(uint64_t token) const;
  /// Returns the unit's buffer to the pool. False for an unknown or released token.
  bool release(uint64_t token);

  void set_stream_key(uint32_t stream_id, const uint8_t* key);
  /// The application's load for the next reports (see aigw_server_report_load).
  void set_app_load(double load, std::map<std::string, std::pair<uint32_t, double>> models);
  /// The load the next GpuLoadSync carries: max(app load, share of budget held).
  double current_load() const;

  const ServerConfig& config() const { return config_; }
  const ServerCounters& counters() const { return counters_; }
  const std::map<uint32_t, StreamRecord>& streams() const { return records_; }
  const UnitReceiver& receiver() const { return *receiver_; }
  size_t units_held() const { return held_count_; }
  size_t bytes_held() const { return held_bytes_; }
  double last_load() const { return last_load_; }
  /// When the next GpuLoadSync is due: an application that measures its own load
  /// hands it over (set_app_load) just before.
  int64_t next_report_ns() const { return next_period_ns_; }

 private:
  static constexpr size_t kSourceRing = 16;
  static constexpr size_t kVerifiedRing = 16;
  // The source of each of a stream's recent units: NACKs and acks go to the gateway
  // that sent the unit (during a migration the old and the new gateway both send).
  struct StreamRoute {
    std::array<std::pair<uint32_t, UdpEndpoint>, kSourceRing> sources{};
    std::array<uint32_t, kVerifiedRing> verified{};
    uint32_t verified_n = 0;
    uint32_t model = 0;
    bool have_key = false;
    std::array<uint8_t, 32> key{};
    bool was_verified(uint32_t seq) const;
  };

  // Where a verified unit's application bytes are in its buffer, and how they came.
  struct Payload {
    uint32_t offset = 0;
    uint32_t length = 0;
    uint32_t flags = 0;  ///< aigw_unit_flags
  };

  void on_unit_complete(const CompletedUnit& info, UnitHandle& unit) override;
  /// Finds the payload, opening an encrypted unit in place when the stream's key is
  /// known. False when it does not open (counted and acknowledged).
  bool open_payload(const CompletedUnit& info, const StreamRoute& route, StreamRecord& rec, UnitHandle& unit,
                    Payload& out);
  /// Moves a verified unit into a free held slot and queues its token.
  void hold(const CompletedUnit& info, const StreamRoute& route, const Payload& payload, UnitHandle& unit);
  void on_unit_lost(const LostUnit& info) override;
  void on_nack(const NackOut& nack) override;

  const UdpEndpoint* source_of(const StreamRoute& r, uint32_t unit_seq) const;
  void send_ack(const StreamRoute& r, uint32_t stream_id, uint32_t unit_seq);
  void send_gateway(const UdpEndpoint& to, MessageType type, const std::string& body);
  void send_controller(MessageType type, const std::string& body);
  void send_register(bool leaving);
  void send_load_sync();
  StreamRoute* route_for(uint32_t stream_id, uint32_t unit_seq);

  ServerConfig config_;
  ServerOutput& out_;
  NodeKeys keys_;
  EnvelopeSealer sealer_;
  EnvelopeOpener opener_;
  std::vector<std::pair<UdpEndpoint, uint32_t>> gateway_of_egress_;  // egress -> gateway sender id
  std::unique_ptr<UnitReceiver> receiver_;
  std::map<uint32_t, StreamRoute> routes_;
  std::map<uint32_t, StreamRecord> records_;
  std::map<uint32_t, std::array<uint8_t, 32>> pending_keys_;  // set before the stream came
  // Held units: a fixed table with a free list, and a ring of ready tokens.
  std::vector<HeldUnit> held_;
  int32_t free_held_ = -1;
  size_t held_count_ = 0;
  size_t held_bytes_ = 0;
  std::vector<uint64_t> ready_;
  size_t ready_head_ = 0;
  size_t ready_count_ = 0;
  ServerCounters counters_;
  double app_load_ = 0;
  std::map<std::string, std::pair<uint32_t, double>> app_models_;
  std::vector<uint8_t> tx_;
  std::string body_;
  int64_t next_period_ns_ = 0;
  uint64_t period_seq_ = 0;
  double last_load_ = 0;
};

}  // namespace aigw::server
