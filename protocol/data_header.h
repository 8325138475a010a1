// The v1 data header: 32 bytes in front of every fragment of an AI data unit.
//
//  0      2   3   4   5   6       8              12             16      18      20             24             28             32
//  | magic | ver| type| flags| hlen| frag index | stream id   | unit seq    | frag count | payload len | unit length | send time µs | header CRC32C |
//
// See docs/protocol.md for every field. All integers are big-endian.
#pragma once

#include <cstddef>
#include <cstdint>

namespace aigw {

inline constexpr uint16_t kDataMagic = 0x4147;  // "AG"
inline constexpr uint8_t kDataVersion = 1;
inline constexpr size_t kDataHeaderSize = 32;
/// The smallest stride of a unit of several fragments (senders' payloads are >= 64 bytes).
inline constexpr uint32_t kMinStride = 32;

enum class PacketType : uint8_t { data = 1 };

/// Flag bits of the header's flags byte.
namespace data_flag {
inline constexpr uint8_t retransmission = 0x01;  ///< sent again in answer to a NACK
inline constexpr uint8_t last_fragment = 0x02;   ///< fragment index == count - 1
inline constexpr uint8_t encrypted = 0x04;       ///< unit content is an AEAD ciphertext
inline constexpr uint8_t known = retransmission | last_fragment | encrypted;
}  // namespace data_flag

struct DataHeader {
  PacketType type = PacketType::data;
  uint8_t flags = 0;
  uint16_t fragment_index = 0;
  uint32_t stream_id = 0;
  uint32_t unit_seq = 0;
  uint16_t fragment_count = 0;
  uint16_t payload_length = 0;
  uint32_t unit_length = 0;
  uint32_t send_time_us = 0;  ///< sender clock, microseconds, wraps; for RTT estimates only
};

enum class DecodeError : uint8_t {
  ok = 0,
  truncated,             ///< fewer bytes than the header
  bad_magic,
  bad_version,
  bad_header_length,     ///< header length field is not 32
  bad_type,
  bad_flags,             ///< unknown flag bits, or last_fragment on the wrong fragment
  bad_checksum,          ///< header CRC32C mismatch
  zero_count,            ///< fragment count 0 or unit length 0
  index_out_of_range,    ///< fragment index >= fragment count
  inconsistent_geometry, ///< count does not fit unit length (an empty fragment would exist,
                         ///< or a unit of several fragments has a stride below kMinStride)
  length_mismatch,       ///< payload length differs from what index and unit length imply
  payload_truncated,     ///< fewer payload bytes in the datagram than payload length
};
inline constexpr DecodeError kLastDecodeError = DecodeError::payload_truncated;

const char* to_string(DecodeError e);

/// Geometry of a unit: fragment i covers [i*S, min((i+1)*S, L)) with S = ceil(L / count).
/// A sender picks count = ceil(L / max_payload); then S <= max_payload and no fragment is
/// empty. The receiver derives the same S, so no fragment size travels in the header.
struct UnitGeometry {
  uint32_t unit_length;
  uint16_t fragment_count;

  uint32_t stride() const {
    return static_cast<uint32_t>((uint64_t{unit_length} + fragment_count - 1) / fragment_count);
  }
  uint32_t offset(uint16_t index) const { return uint32_t{index} * stride(); }
  uint32_t payload_length(uint16_t index) const {
    uint32_t off = offset(index);
    uint32_t s = stride();
    return uint64_t{off} + s <= unit_length ? s : unit_length - off;
  }
  /// True when every fragment carries at least one byte and a unit of several
  /// fragments is not cut finer than kMinStride (decode_data_header applies the same rule).
  bool valid() const {
    return unit_length > 0 && fragment_count > 0 && uint64_t{fragment_count - 1u} * stride() < unit_length &&
           (fragment_count == 1 || stride() >= kMinStride);
  }
  /// Count a sender uses for a unit of `len` bytes and payloads of at most `max_payload`.
  /// Returns 0 when the unit would need more than 65535 fragments.
  static uint16_t count_for(uint32_t len, uint32_t max_payload) {
    uint64_t c = (uint64_t{len} + max_payload - 1) / max_payload;
    return c == 0 || c > 65535 ? 0 : static_cast<uint16_t>(c);
  }
};

/// Writes the header (with its CRC) into `out`, which must hold kDataHeaderSize bytes.
void encode_data_header(const DataHeader& h, uint8_t* out);

/// Decodes and fully validates a datagram's header. `len` is the whole datagram; on ok
/// the payload is the `h.payload_length` bytes after the header (extra bytes are ignored,
/// as UDP padding). Total: every input yields ok or one specific error.
DecodeError decode_data_header(const uint8_t* data, size_t len, DataHeader& h);

}  // namespace aigw
