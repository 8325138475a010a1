#include "gateway/core/gpu_command.h"

#include <algorithm>

#include "protocol/control.pb.h"

namespace aigw {

bool gpu_command_from(const EnvelopeView& v, StreamCommand& cmd) {
  const int len = static_cast<int>(v.body_len);
  if (v.type == MessageType::unit_ack) {
    ctl::UnitAck ack;
    if (!ack.ParseFromArray(v.body, len)) return false;
    cmd.kind = StreamCommand::Kind::gpu_ack;
    cmd.route.stream_id = ack.stream_id();
    cmd.unit_seq = ack.unit_seq();
    return true;
  }
  if (v.type != MessageType::retransmit_request) return false;
  ctl::RetransmitRequest r;
  if (!r.ParseFromArray(v.body, len) || r.missing().size() > kMaxCommandNackBytes) return false;
  cmd.kind = StreamCommand::Kind::gpu_nack;
  cmd.route.stream_id = r.stream_id();
  cmd.unit_seq = r.unit_seq();
  cmd.fragment_count = r.fragment_count();
  cmd.encoding = static_cast<NackEncoding>(r.encoding());
  cmd.first_fragment = r.first_fragment();
  cmd.missing_count = r.missing_count();
  cmd.nack_size = static_cast<uint16_t>(r.missing().size());
  std::copy(r.missing().begin(), r.missing().end(), cmd.nack);
  return true;
}

}  // namespace aigw
