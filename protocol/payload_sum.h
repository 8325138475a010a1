// A fragment's payload checksum, carried from ingest to egress. A gateway that checks a
// fragment's UDP checksum in software has summed its payload already; egress sends the
// same bytes again in a new datagram, so keeping the sum (RFC 1071 ones-complement,
// folded to 16 bits; it does not depend on where the bytes sit as long as they start at
// an even offset, which the 32-byte data header guarantees) spares egress a second pass
// over every byte. Only a data path that fills UDP checksums itself needs it.
#pragma once

#include <cstdint>

namespace aigw {

/// "No sum known": whoever builds the datagram computes the checksum itself.
inline constexpr uint32_t kNoPayloadSum = 0x10000;

}  // namespace aigw
