// A GPU server's UnitAck or RetransmitRequest, arriving on the egress socket or the
// control port, as the command for the stream's egress sender. One mapping for both.
#pragma once

#include "gateway/core/pipeline_io.h"
#include "protocol/envelope.h"

namespace aigw {

/// False when the (authenticated) body is neither message or does not parse.
bool gpu_command_from(const EnvelopeView& v, StreamCommand& out);

}  // namespace aigw
