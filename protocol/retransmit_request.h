// The one mapping from a receiver's NACK (NackOut) to the wire message that carries it
// (ctl::RetransmitRequest), used by every party that receives units: gateways NACKing
// devices, GPU servers NACKing gateways, and test sinks.
#pragma once

#include "protocol/control.pb.h"
#include "protocol/unit_receiver.h"

namespace aigw {

/// Fills every field of `out` from `nack` (the chunk bytes are copied). `out` may be a
/// reused message: all fields are overwritten.
void to_retransmit_request(const NackOut& nack, ctl::RetransmitRequest& out);

}  // namespace aigw
