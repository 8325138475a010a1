#include "gateway/core/event_relay.h"

#include <cstring>

namespace aigw {

void EventRelay::push(const RelayedEvent& e) {
  if (ring_.push(e)) pushed_ = true;
  else dropped_.fetch_add(1, std::memory_order_relaxed);
}

void EventRelay::send_nack(const Ipv4Endpoint& device_control, const NackOut& nack) {
  if (nack.chunk.size > sizeof scratch_.bytes) {  // larger than any chunk the receiver builds
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  scratch_.kind = RelayedEvent::Kind::nack;
  scratch_.to = device_control;
  scratch_.stream_id = nack.stream_id;
  scratch_.unit_seq = nack.unit_seq;
  scratch_.fragment_count = nack.fragment_count;
  scratch_.round = nack.round;
  scratch_.encoding = nack.chunk.encoding;
  scratch_.first_fragment = nack.chunk.first_fragment;
  scratch_.missing_count = nack.chunk.missing_count;
  scratch_.size = static_cast<uint16_t>(nack.chunk.size);
  std::memcpy(scratch_.bytes, nack.chunk.bytes, nack.chunk.size);
  push(scratch_);
}

void EventRelay::unit_done(uint32_t stream_id, uint32_t unit_seq, bool delivered, uint32_t bytes, LossReason reason) {
  scratch_.kind = RelayedEvent::Kind::unit_done;
  scratch_.stream_id = stream_id;
  scratch_.unit_seq = unit_seq;
  scratch_.delivered = delivered;
  scratch_.unit_bytes = bytes;
  scratch_.reason = reason;
  scratch_.size = 0;
  push(scratch_);
}

void EventRelay::stream_released(uint32_t stream_id, uint32_t last_unit_seq) {
  scratch_.kind = RelayedEvent::Kind::released;
  scratch_.stream_id = stream_id;
  scratch_.unit_seq = last_unit_seq;
  scratch_.size = 0;
  push(scratch_);
}

bool EventRelay::foreign_gpu_command(const StreamCommand& cmd) {
  scratch_.kind = cmd.kind == StreamCommand::Kind::gpu_ack ? RelayedEvent::Kind::gpu_ack : RelayedEvent::Kind::gpu_nack;
  scratch_.stream_id = cmd.route.stream_id;
  scratch_.unit_seq = cmd.unit_seq;
  scratch_.fragment_count = cmd.fragment_count;
  scratch_.encoding = cmd.encoding;
  scratch_.first_fragment = cmd.first_fragment;
  scratch_.missing_count = cmd.missing_count;
  scratch_.size = cmd.nack_size;
  std::memcpy(scratch_.bytes, cmd.nack, cmd.nack_size);
  push(scratch_);
  return true;
}

bool EventRelay::drain(PipelineEvents& to, size_t max) {
  for (size_t i = 0; i < max; ++i) {
    const RelayedEvent* e = ring_.front();
    if (e == nullptr) return false;
    switch (e->kind) {
      case RelayedEvent::Kind::nack: {
        NackOut n;
        n.stream_id = e->stream_id;
        n.unit_seq = e->unit_seq;
        n.fragment_count = static_cast<uint16_t>(e->fragment_count);
        n.round = e->round;
        n.chunk.encoding = e->encoding;
        n.chunk.first_fragment = static_cast<uint16_t>(e->first_fragment);
        n.chunk.missing_count = static_cast<uint16_t>(e->missing_count);
        n.chunk.bytes = e->bytes;
        n.chunk.size = e->size;
        to.send_nack(e->to, n);
        break;
      }
      case RelayedEvent::Kind::unit_done:
        to.unit_done(e->stream_id, e->unit_seq, e->delivered, e->unit_bytes, e->reason);
        break;
      case RelayedEvent::Kind::released:
        to.stream_released(e->stream_id, e->unit_seq);
        break;
      case RelayedEvent::Kind::gpu_ack:
      case RelayedEvent::Kind::gpu_nack:
        // The consumer (the agent) knows the stream's port and posts it to the cores serving it.
        command_.kind = e->kind == RelayedEvent::Kind::gpu_ack ? StreamCommand::Kind::gpu_ack
                                                               : StreamCommand::Kind::gpu_nack;
        command_.route = StreamRoute{};
        command_.route.stream_id = e->stream_id;
        command_.unit_seq = e->unit_seq;
        command_.fragment_count = e->fragment_count;
        command_.encoding = e->encoding;
        command_.first_fragment = e->first_fragment;
        command_.missing_count = e->missing_count;
        command_.nack_size = e->size;
        std::memcpy(command_.nack, e->bytes, e->size);
        to.foreign_gpu_command(command_);
        break;
    }
    ring_.pop();
  }
  return ring_.front() != nullptr;
}

}  // namespace aigw
