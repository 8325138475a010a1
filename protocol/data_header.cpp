#include "protocol/data_header.h"

#include "protocol/byte_order.h"
#include "protocol/crc32c.h"

namespace aigw {

using namespace wire;

const char* to_string(DecodeError e) {
  switch (e) {
    case DecodeError::ok: return "ok";
    case DecodeError::truncated: return "truncated";
    case DecodeError::bad_magic: return "bad_magic";
    case DecodeError::bad_version: return "bad_version";
    case DecodeError::bad_header_length: return "bad_header_length";
    case DecodeError::bad_type: return "bad_type";
    case DecodeError::bad_flags: return "bad_flags";
    case DecodeError::bad_checksum: return "bad_checksum";
    case DecodeError::zero_count: return "zero_count";
    case DecodeError::index_out_of_range: return "index_out_of_range";
    case DecodeError::inconsistent_geometry: return "inconsistent_geometry";
    case DecodeError::length_mismatch: return "length_mismatch";
    case DecodeError::payload_truncated: return "payload_truncated";
  }
  return "unknown";
}

void encode_data_header(const DataHeader& h, uint8_t* out) {
  put_u16(out + 0, kDataMagic);
  put_u8(out + 2, kDataVersion);
  put_u8(out + 3, static_cast<uint8_t>(h.type));
  put_u8(out + 4, h.flags);
  put_u8(out + 5, static_cast<uint8_t>(kDataHeaderSize));
  put_u16(out + 6, h.fragment_index);
  put_u32(out + 8, h.stream_id);
  put_u32(out + 12, h.unit_seq);
  put_u16(out + 16, h.fragment_count);
  put_u16(out + 18, h.payload_length);
  put_u32(out + 20, h.unit_length);
  put_u32(out + 24, h.send_time_us);
  put_u32(out + 28, crc32c(out, 28));
}

DecodeError decode_data_header(const uint8_t* p, size_t len, DataHeader& h) {
  if (len < kDataHeaderSize) return DecodeError::truncated;
  if (get_u16(p) != kDataMagic) return DecodeError::bad_magic;
  if (get_u8(p + 2) != kDataVersion) return DecodeError::bad_version;
  if (get_u8(p + 5) != kDataHeaderSize) return DecodeError::bad_header_length;
  // The checksum comes before field semantics: a flipped bit is a transport error,
  // not a protocol violation, and is counted as such.
  if (crc32c(p, 28) != get_u32(p + 28)) return DecodeError::bad_checksum;
  if (get_u8(p + 3) != static_cast<uint8_t>(PacketType::data)) return DecodeError::bad_type;
  h.type = PacketType::data;
  h.flags = get_u8(p + 4);
  h.fragment_index = get_u16(p + 6);
  h.stream_id = get_u32(p + 8);
  h.unit_seq = get_u32(p + 12);
  h.fragment_count = get_u16(p + 16);
  h.payload_length = get_u16(p + 18);
  h.unit_length = get_u32(p + 20);
  h.send_time_us = get_u32(p + 24);
  if (h.flags & ~data_flag::known) return DecodeError::bad_flags;
  if (h.fragment_count == 0 || h.unit_length == 0) return DecodeError::zero_count;
  if (h.fragment_index >= h.fragment_count) return DecodeError::index_out_of_range;
  const bool is_last = h.fragment_index + 1 == h.fragment_count;
  if (((h.flags & data_flag::last_fragment) != 0) != is_last) return DecodeError::bad_flags;
  // UnitGeometry's rules with the stride divided out once: this runs per packet.
  // A 32-bit division is several times cheaper than the 64-bit one; only unit lengths
  // within 64 KiB of 4 GiB need the wide form.
  const uint32_t stride = h.unit_length <= UINT32_MAX - 65535u
                              ? (h.unit_length + h.fragment_count - 1u) / h.fragment_count
                              : UnitGeometry{h.unit_length, h.fragment_count}.stride();
  const uint64_t last_offset = uint64_t{h.fragment_count - 1u} * stride;
  if (last_offset >= h.unit_length) return DecodeError::inconsistent_geometry;
  // UnitGeometry::valid()'s stride floor. A receiver keeps ~7 bytes of state per
  // fragment: a unit cut finer than any sender cuts (payloads of at least 64 bytes give
  // strides of at least 32) would make a 33-byte datagram reserve hundreds of kilobytes.
  if (h.fragment_count > 1 && stride < kMinStride) return DecodeError::inconsistent_geometry;
  const uint32_t offset = uint32_t{h.fragment_index} * stride;
  const uint32_t expected = is_last ? h.unit_length - offset : stride;
  if (h.payload_length != expected) return DecodeError::length_mismatch;
  if (len - kDataHeaderSize < h.payload_length) return DecodeError::payload_truncated;
  return DecodeError::ok;
}

}  // namespace aigw
