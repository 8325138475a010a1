#include "protocol/data_header.h"

#include <gtest/gtest.h>

#include <vector>

#include "protocol/byte_order.h"
#include "protocol/crc32c.h"

namespace aigw {
namespace {

DataHeader sample() {
  DataHeader h;
  h.flags = data_flag::retransmission;
  h.fragment_index = 7;
  h.stream_id = 0xA1B2C3D4;
  h.unit_seq = 99;
  h.fragment_count = 946;
  h.unit_length = 688132;
  h.payload_length = static_cast<uint16_t>(UnitGeometry{h.unit_length, h.fragment_count}.payload_length(7));
  h.send_time_us = 123456;
  return h;
}

std::vector<uint8_t> packet(const DataHeader& h, size_t payload) {
  std::vector<uint8_t> p(kDataHeaderSize + payload, 0xEE);
  encode_data_header(h, p.data());
  return p;
}

// Rewrites one header byte and fixes the CRC so that the semantic check is reached.
void poke(std::vector<uint8_t>& p, size_t off, uint8_t v) {
  p[off] = v;
  wire::put_u32(p.data() + 28, crc32c(p.data(), 28));
}

TEST(DataHeader, RoundTrip) {
  DataHeader h = sample();
  auto p = packet(h, h.payload_length);
  DataHeader d;
  ASSERT_EQ(decode_data_header(p.data(), p.size(), d), DecodeError::ok);
  EXPECT_EQ(d.flags, h.flags);
  EXPECT_EQ(d.fragment_index, h.fragment_index);
  EXPECT_EQ(d.stream_id, h.stream_id);
  EXPECT_EQ(d.unit_seq, h.unit_seq);
  EXPECT_EQ(d.fragment_count, h.fragment_count);
  EXPECT_EQ(d.payload_length, 728);
  EXPECT_EQ(d.unit_length, h.unit_length);
  EXPECT_EQ(d.send_time_us, h.send_time_us);
}

TEST(DataHeader, WireLayoutIsBigEndian) {
  auto p = packet(sample(), 728);
  EXPECT_EQ(p[0], 0x41);
  EXPECT_EQ(p[1], 0x47);
  EXPECT_EQ(p[2], 1);
  EXPECT_EQ(p[5], 32);
  EXPECT_EQ(p[8], 0xA1);
  EXPECT_EQ(p[11], 0xD4);
  EXPECT_EQ(wire::get_u16(p.data() + 16), 946);
}

TEST(DataHeader, LastFragmentGeometry) {
  UnitGeometry g{688132, 946};
  EXPECT_TRUE(g.valid());
  EXPECT_EQ(g.stride(), 728u);
  EXPECT_EQ(g.payload_length(945), 688132u - 945u * 728u);
  EXPECT_EQ(UnitGeometry::count_for(688132, 728), 946);
  EXPECT_EQ(UnitGeometry::count_for(0, 728), 0);
  EXPECT_EQ(UnitGeometry::count_for(65536u * 10u, 10), 0);  // would need 65536 fragments
  EXPECT_FALSE((UnitGeometry{9, 4}.valid()));  // stride 3 leaves fragment 3 empty
}

struct ErrorCase {
  const char* name;
  DecodeError expected;
};

TEST(DataHeader, EveryErrorIsSpecific) {
  DataHeader h = sample();
  DataHeader d;
  auto ok = packet(h, h.payload_length);

  EXPECT_EQ(decode_data_header(ok.data(), 31, d), DecodeError::truncated);

  auto p = ok;
  poke(p, 0, 0x00);
  EXPECT_EQ(decode_data_header(p.data(), p.size(), d), DecodeError::bad_magic);
  p = ok;
  poke(p, 2, 2);
  EXPECT_EQ(decode_data_header(p.data(), p.size(), d), DecodeError::bad_version);
  p = ok;
  poke(p, 5, 40);
  EXPECT_EQ(decode_data_header(p.data(), p.size(), d), DecodeError::bad_header_length);
  p = ok;
  p[9] ^= 1;  // no CRC fix-up
  EXPECT_EQ(decode_data_header(p.data(), p.size(), d), DecodeError::bad_checksum);
  p = ok;
  poke(p, 3, 9);
  EXPECT_EQ(decode_data_header(p.data(), p.size(), d), DecodeError::bad_type);
  p = ok;
  poke(p, 4, 0x80);
  EXPECT_EQ(decode_data_header(p.data(), p.size(), d), DecodeError::bad_flags);
  p = ok;
  poke(p, 4, data_flag::last_fragment);  // not the last fragment
  EXPECT_EQ(decode_data_header(p.data(), p.size(), d), DecodeError::bad_flags);

  DataHeader z = h;
  z.fragment_count = 0;
  p = packet(z, 728);
  EXPECT_EQ(decode_data_header(p.data(), p.size(), d), DecodeError::zero_count);

  DataHeader idx = h;
  idx.fragment_index = 946;
  p = packet(idx, 728);
  EXPECT_EQ(decode_data_header(p.data(), p.size(), d), DecodeError::index_out_of_range);

  DataHeader geo = h;
  geo.unit_length = 9;
  geo.fragment_count = 4;
  geo.fragment_index = 0;
  p = packet(geo, 3);
  EXPECT_EQ(decode_data_header(p.data(), p.size(), d), DecodeError::inconsistent_geometry);

  DataHeader len = h;
  len.payload_length = 700;
  p = packet(len, 728);
  EXPECT_EQ(decode_data_header(p.data(), p.size(), d), DecodeError::length_mismatch);

  p = packet(h, 100);
  EXPECT_EQ(decode_data_header(p.data(), p.size(), d), DecodeError::payload_truncated);
}

// Every fragment decodes exactly when its payload length is UnitGeometry's, on both
// sides of the decoder's switch from 32- to 64-bit stride arithmetic.
TEST(DataHeader, DecoderAgreesWithUnitGeometry) {
  DataHeader d;
  for (uint32_t len : {1u, 727u, 728u, 688132u, 65535u * 65535u, 0xFFFF0000u, 0xFFFF0001u,
                       0xFFFFFFFFu}) {
    for (uint16_t count : {uint16_t{1}, uint16_t{2}, uint16_t{946}, uint16_t{65535}}) {
      const UnitGeometry g{len, count};
      if (!g.valid() || g.stride() > 65535) continue;
      for (uint16_t index : {uint16_t{0}, static_cast<uint16_t>(count - 1)}) {
        DataHeader h;
        h.fragment_index = index;
        h.fragment_count = count;
        h.unit_length = len;
        h.flags = index + 1 == count ? data_flag::last_fragment : 0;
        h.payload_length = static_cast<uint16_t>(g.payload_length(index));
        auto p = packet(h, h.payload_length);
        EXPECT_EQ(decode_data_header(p.data(), p.size(), d), DecodeError::ok) << len << " " << count;
        h.payload_length = static_cast<uint16_t>(h.payload_length - 1);
        p = packet(h, 65535);
        EXPECT_EQ(decode_data_header(p.data(), p.size(), d), DecodeError::length_mismatch);
      }
    }
  }
  // Past 65535 * 65535 bytes no stride fits a payload length: always a mismatch.
  DataHeader big;
  big.fragment_count = 65535;
  big.unit_length = 0xFFFFFFFFu;
  big.payload_length = 65535;
  auto p = packet(big, 65535);
  EXPECT_EQ(decode_data_header(p.data(), p.size(), d), DecodeError::length_mismatch);
}

TEST(DataHeader, ErrorNamesAreDistinct) {
  for (int i = 0; i <= static_cast<int>(DecodeError::payload_truncated); ++i)
    EXPECT_STRNE(to_string(static_cast<DecodeError>(i)), "unknown");
}

}  // namespace
}  // namespace aigw
