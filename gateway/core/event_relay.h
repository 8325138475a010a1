// Carries pipeline events from a pipeline running on its own thread (a socket worker, a
// DPDK lcore) to the agent's thread: the pipeline's PipelineEvents is an EventRelay that
// copies each event into an SPSC ring (no locks, no allocation), and the agent's thread
// drains the ring into the real PipelineEvents.
#pragma once

#include <atomic>
#include <cstdint>

#include "gateway/core/pipeline_io.h"
#include "gateway/core/spsc_ring.h"

namespace aigw {

/// One pipeline event as plain data.
struct RelayedEvent {
  /// gpu_ack / gpu_nack: a GPU server's answer for a stream another core serves.
  enum class Kind : uint8_t { nack, unit_done, released, gpu_ack, gpu_nack } kind = Kind::nack;
  Ipv4Endpoint to;  ///< nack: the device's control address
  uint32_t stream_id = 0;
  uint32_t unit_seq = 0;
  // nack, gpu_nack
  uint32_t fragment_count = 0;
  uint32_t round = 0;
  NackEncoding encoding = NackEncoding::list;
  uint32_t first_fragment = 0;
  uint32_t missing_count = 0;
  uint16_t size = 0;
  uint8_t bytes[kMaxCommandNackBytes];
  // unit_done
  bool delivered = false;
  uint32_t unit_bytes = 0;
  LossReason reason = LossReason::deadline;
};

/// The producer side, called on the pipeline's thread.
class EventRelay final : public PipelineEvents {
 public:
  explicit EventRelay(size_t capacity) : ring_(capacity) {}

  void send_nack(const Ipv4Endpoint& device_control, const NackOut& nack) override;
  void unit_done(uint32_t stream_id, uint32_t unit_seq, bool delivered, uint32_t bytes, LossReason reason) override;
  void stream_released(uint32_t stream_id, uint32_t last_unit_seq) override;
  /// Always taken: the consumer passes it on to its PipelineEvents::foreign_gpu_command.
  bool foreign_gpu_command(const StreamCommand& cmd) override;

  /// True once after events were pushed since the last call (the producer then wakes
  /// the consumer once per batch, not once per event).
  bool take_pushed() {
    const bool p = pushed_;
    pushed_ = false;
    return p;
  }
  /// Consumer side (agent's thread): delivers up to `max` events to `to`. True when
  /// events are left over.
  bool drain(PipelineEvents& to, size_t max);
  /// Events lost because the ring was full (any thread).
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void push(const RelayedEvent& e);

  SpscRing<RelayedEvent> ring_;
  RelayedEvent scratch_;  ///< producer-side staging, so events are built without a stack copy
  StreamCommand command_;  ///< consumer-side staging of relayed GPU answers
  bool pushed_ = false;
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace aigw
