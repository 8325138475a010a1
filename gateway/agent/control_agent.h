// The bypass agent, I/O-free: datagrams and time in, sealed datagrams out (ControlOut;
// the socket shell is gateway/agent/control_socket.h). It sends the controller a LoadSync and
// a StreamSync every sync period (built in gateway/agent/sync_messages.h; whether or not
// the controller answers: a missing controller only means retries), applies the controller's StreamAssign /
// SteerCommand / MigrateCommand to the data plane, sends the receivers' NACKs to
// devices under their pair keys, and forwards GPU servers' UnitAck /
// RetransmitRequest to the egress sender of the stream. Every envelope must come from
// a role that may send it (protocol/message_roles.h).
//
// \threadbound One thread (the gateway's main loop). PipelineEvents calls must come
// from that thread (backends with other threads queue them).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/agent/load_meter.h"
#include "gateway/agent/sync_messages.h"
#include "gateway/core/data_plane.h"
#include "gateway/core/pipeline_io.h"
#include "gateway/node/config.h"
#include "protocol/control.pb.h"
#include "protocol/envelope.h"
#include "protocol/node_keys.h"

namespace aigw {

/// Agent state visible to the metrics exporter (copied under a mutex once per period).
struct AgentSnapshot {
  NodeLoad load;
  std::vector<double> port_bandwidth_bps;
  std::vector<double> port_memory_bytes;
  std::vector<double> core_busy;
  size_t streams = 0;
  uint64_t period_seq = 0;
  double seconds_since_controller = -1;  ///< -1: never heard from
};

/// Where the agent's sealed datagrams go.
class ControlOut {
 public:
  virtual ~ControlOut() = default;
  /// False when the datagram could not be sent (counted as a tx error).
  virtual bool send_control(const Ipv4Endpoint& to, const uint8_t* data, size_t len) = 0;
};

/// The agent's clocks: envelope counters follow `wall`; no sender's first envelope
/// older than `not_before` is taken (EnvelopeOpener::set_not_before).
struct AgentClock {
  WallClock wall = nullptr;
  uint64_t not_before = 0;
};

class ControlAgent final : public PipelineEvents {
 public:
  ControlAgent(const GatewayConfig& config, const NodeKeys& keys, DataPlane& data_plane, ControlOut& out,
               const AgentClock& clock);
  ~ControlAgent() override = default;
  ControlAgent(const ControlAgent&) = delete;
  ControlAgent& operator=(const ControlAgent&) = delete;

  /// Admits the static streams, registers with the controller, runs the first sync.
  /// `bound`: the control address it advertises.
  void start(const Ipv4Endpoint& bound, int64_t now_ns);
  /// Sends a GatewayRegister{leaving}.
  void stop();
  /// One datagram from the control socket.
  void on_datagram(const uint8_t* data, size_t len, const Ipv4Endpoint& from, int64_t now_ns);

  Ipv4Endpoint control_endpoint() const { return bound_; }

  // PipelineEvents
  void send_nack(const Ipv4Endpoint& device_control, const NackOut& nack) override;
  void unit_done(uint32_t stream_id, uint32_t unit_seq, bool delivered, uint32_t bytes,
                 LossReason reason) override;
  void stream_released(uint32_t stream_id, uint32_t last_unit_seq) override;
  bool foreign_gpu_command(const StreamCommand& cmd) override {
    forward_gpu(cmd);
    return true;
  }

  /// Runs one sync period now (also called by the timer).
  void sync(int64_t now_ns);

  AgentSnapshot snapshot() const;
  /// Agent counters as Prometheus text, appended.
  void render_metrics(std::string& out) const;

 private:
  struct Stream {
    StreamRoute route;
    uint64_t delivered = 0;
    uint64_t lost = 0;
    bool any_unit = false;
    uint32_t last_unit_seq = 0;
    uint64_t period_bytes = 0;
    double bandwidth_bps = 0;
    uint64_t release_migration_id = 0;  ///< MigrateAck owed when the release finishes
    bool release_ack_owed = false;
  };

  void handle(const EnvelopeView& v, const Ipv4Endpoint& from, int64_t now_ns);
  void handle_assign(const ctl::StreamAssign& m);
  void handle_steer(const ctl::SteerCommand& m);
  void handle_migrate(const ctl::MigrateCommand& m);
  void forward_gpu(const StreamCommand& cmd);
  bool admit(const StreamRoute& route);
  bool route_from(const ctl::StreamEntry& e, const std::string& gpu_address, uint32_t gpu_port,
                  uint32_t first_unit_seq, StreamRoute& out);
  void release(uint32_t stream_id, uint32_t last_unit_seq);
  bool send(MessageType type, const std::string& body, const Ipv4Endpoint& to);
  /// Sends out_buf_ when `sealed`, else counts a tx error.
  bool send_sealed(bool sealed, MessageType type, const Ipv4Endpoint& to);
  void send_register(bool leaving);
  void send_migrate_ack(uint64_t migration_id, ctl::MigratePhase phase, uint32_t stream_id,
                        uint32_t switch_unit_seq);
  bool serves_port(uint16_t udp_port) const;
  // The steps of one sync period.
  std::vector<double> sample_cores();
  LoadReport sample_load(int64_t now_ns, const std::vector<double>& core_busy);
  /// Each stream's bandwidth over the period just ended, and what StreamSync reports.
  std::vector<StreamReport> close_stream_periods(int64_t period_ns);
  void publish_snapshot(const NodeLoad& load, const std::vector<double>& core_busy, int64_t now_ns);

  const GatewayConfig& config_;
  DataPlane& dp_;
  const NodeKeys& keys_;
  ControlOut& out_;
  EnvelopeOpener opener_;
  EnvelopeSealer sealer_;
  Ipv4Endpoint bound_;
  bool started_ = false;
  std::map<uint32_t, Stream> streams_;
  std::map<uint32_t, uint32_t> pending_expect_;  ///< stream -> first unit, before its assign
  std::vector<PortLoadMeter> port_meters_;
  std::vector<BusyMeter> core_meters_;
  uint64_t period_seq_ = 0;
  int64_t last_sync_ns_ = 0;
  int64_t last_controller_ns_ = -1;
  std::vector<uint8_t> out_buf_;
  std::string body_;

  mutable std::mutex snapshot_mu_;
  AgentSnapshot snapshot_;

  // Counters, read by the metrics thread.
  std::atomic<uint64_t> rx_by_type_[kMaxMessageType + 1] = {};
  std::atomic<uint64_t> rx_rejected_[kEnvelopeErrorCount] = {};  ///< by EnvelopeError
  std::atomic<uint64_t> rx_invalid_ = 0;         ///< authenticated but malformed or unexpected
  std::atomic<uint64_t> tx_by_type_[kMaxMessageType + 1] = {};
  std::atomic<uint64_t> tx_errors_ = 0;
};

}  // namespace aigw
