// End-to-end integrity of a unit's content (docs/protocol.md §1.4): the sender appends the CRC32C
// of the application bytes as a 4-byte big-endian trailer, so the unit on the wire is
// `content || crc32c(content)`. Gateways forward it untouched; the GPU side verifies.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/byte_order.h"
#include "protocol/crc32c.h"

namespace aigw {

inline constexpr size_t kUnitDigestSize = 4;

/// Writes the trailer after `content_len` bytes of `unit` (which must have room for it).
/// Returns the unit length on the wire.
inline size_t append_unit_digest(uint8_t* unit, size_t content_len) {
  wire::put_u32(unit + content_len, crc32c(unit, content_len));
  return content_len + kUnitDigestSize;
}

/// True when a wire unit of `len` bytes ends in the digest of what precedes it.
inline bool verify_unit_digest(const uint8_t* unit, size_t len) {
  if (len < kUnitDigestSize) return false;
  const size_t content = len - kUnitDigestSize;
  return crc32c(unit, content) == wire::get_u32(unit + content);
}

}  // namespace aigw
