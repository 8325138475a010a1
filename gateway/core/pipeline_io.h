// The seams between the I/O-free ingest pipeline and whatever drives it: commands in
// (from the bypass agent), events out (NACKs and unit outcomes to the agent) and egress
// fragments out (to a backend's socket or NIC queue).
#pragma once

#include <cstddef>
#include <cstdint>

#include "gateway/core/stream_table.h"
#include "protocol/nack.h"
#include "protocol/udp_endpoint.h"
#include "protocol/unit_receiver.h"

namespace aigw {

/// Largest NACK chunk carried in a command (a GPU's RetransmitRequest).
inline constexpr size_t kMaxCommandNackBytes = 1400;

/// A change the control plane asks of a pipeline. Plain data so it can cross a ring.
struct StreamCommand {
  enum class Kind : uint8_t {
    assign,   ///< serve `route` (insert or update); units from route.first_unit_seq
    release,  ///< accept units up to `unit_seq` (inclusive), then drop the stream
    steer,    ///< send the stream's units to route.gpu / route.gpu_id from now on
    gpu_ack,  ///< the GPU server has unit `unit_seq` whole
    gpu_nack, ///< the GPU server misses fragments of unit `unit_seq`
  };
  Kind kind = Kind::assign;
  StreamRoute route;       ///< assign, steer (stream_id always)
  uint32_t unit_seq = 0;   ///< release, gpu_ack, gpu_nack
  // gpu_nack only:
  uint32_t fragment_count = 0;
  NackEncoding encoding = NackEncoding::list;
  uint32_t first_fragment = 0;
  uint32_t missing_count = 0;
  uint16_t nack_size = 0;
  uint8_t nack[kMaxCommandNackBytes];
};

/// What a pipeline tells the control plane. Called on the pipeline's thread.
class PipelineEvents {
 public:
  virtual ~PipelineEvents() = default;
  /// A NACK for the device at `device_control` (to be sent as a RetransmitRequest).
  virtual void send_nack(const Ipv4Endpoint& device_control, const NackOut& nack) = 0;
  /// A unit was reassembled (`delivered`) or reported lost; `bytes` its length.
  virtual void unit_done(uint32_t stream_id, uint32_t unit_seq, bool delivered, uint32_t bytes,
                         LossReason reason) = 0;
  /// A released stream finished its last unit and left the pipeline.
  virtual void stream_released(uint32_t stream_id, uint32_t last_unit_seq) = 0;
  /// A GPU server's ack or NACK (`cmd`) reached this pipeline for a stream it does not
  /// serve (egress and its answers can use another core's port or queue). True when
  /// the command was taken to be delivered to the pipeline that serves the stream.
  virtual bool foreign_gpu_command(const StreamCommand& cmd) {
    (void)cmd;
    return false;
  }
};

/// Where egress fragments go. Implementations batch and flush on flush().
class EgressOut {
 public:
  virtual ~EgressOut() = default;
  /// One fragment (32-byte header + payload) to `to`; `payload_sum` as in
  /// PacketOut::send_fragment. False when the transport is full.
  virtual bool send(const Ipv4Endpoint& to, const uint8_t* header, const uint8_t* payload,
                    size_t payload_len, uint32_t payload_sum) = 0;
  /// Pushes out what send() batched.
  virtual void flush() = 0;
};

}  // namespace aigw
