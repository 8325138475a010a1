// The GPU-server emulator's core: an application of the server SDK's protocol core
// (edge-sdk/server/server_core.h: reassembly, digest check, UnitAck, RetransmitRequest,
// GpuRegister, GpuLoadSync) that queues each verified unit on the modelled accelerator
// and reports the accelerator's busy fraction and queues as its load. I/O-free:
// datagrams and the time come in as arguments, sealed datagrams go out through GpuOutput.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "edge-sdk/server/server_core.h"
#include "protocol/envelope.h"
#include "protocol/unit_receiver.h"
#include "protocol/udp_endpoint.h"
#include "sim/gpu/accelerator.h"

namespace aigw::sim {

/// Sender id of a GPU server in control envelopes: role 3 in the top byte.
inline uint32_t gpu_sender_id(uint32_t gpu_id) { return server::gpu_sender_id(gpu_id); }

/// The server library's configuration (ids, endpoints, key, periods, reassembly) plus
/// the modelled accelerator.
struct GpuNodeConfig {
  server::ServerConfig server;
  AcceleratorConfig accelerator;
};

/// Where the node's sealed datagrams go.
class GpuOutput {
 public:
  virtual ~GpuOutput() = default;
  virtual void to_gateway(const UdpEndpoint& egress, const uint8_t* data, size_t len) = 0;
  virtual void to_controller(const uint8_t* data, size_t len) = 0;
};

/// What happened to the units of one stream at this GPU server.
using GpuStreamRecord = server::StreamRecord;

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
class GpuNode final : BatchSink, server::ServerOutput {
 public:
  GpuNode(const GpuNodeConfig& config, GpuOutput& out, int64_t now_ns);
  ~GpuNode() override;

  /// One datagram on the data socket from a gateway's egress `from`.
  void on_data(const UdpEndpoint& from, const uint8_t* data, size_t len, int64_t now_ns);
  /// A datagram on the control socket (the controller's PeerKeys).
  void on_control(const uint8_t* data, size_t len) { core_->on_control(data, len); }
  /// Timers: receiver NACKs and losses, batches, periodic reports.
  void poll(int64_t now_ns);
  int64_t next_deadline_ns() const;
  /// Sends GpuRegister with leaving = true.
  void leave();

  const GpuNodeCounters& counters() const;
  const std::map<uint32_t, GpuStreamRecord>& streams() const { return core_->streams(); }
  const Accelerator& accelerator() const { return accel_; }
  const UnitReceiver& receiver() const { return core_->receiver(); }
  double last_load() const { return core_->last_load(); }

 private:
  void on_batch(const BatchResult&) override {}
  void to_gateway(const UdpEndpoint& egress, const uint8_t* data, size_t len) override;
  void to_controller(const uint8_t* data, size_t len) override;
  /// Moves the units the core verified onto the accelerator and hands their buffers back.
  void take_units();
  /// The accelerator's busy fraction and queues, for the core's next GpuLoadSync.
  void report_load(int64_t now_ns);

  GpuOutput& out_;
  Accelerator accel_;
  std::unique_ptr<server::ServerCore> core_;
  uint64_t units_not_queued_ = 0;
  mutable GpuNodeCounters counters_;
};

}  // namespace aigw::sim
