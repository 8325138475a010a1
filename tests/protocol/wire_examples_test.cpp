// The worked examples of docs/protocol.md, byte for byte: if the wire format changes,
// this fails until the specification is updated with it.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "protocol/control.pb.h"
#include "protocol/crc32c.h"
#include "protocol/data_header.h"
#include "protocol/envelope.h"
#include "protocol/nack.h"
#include "protocol/unit_digest.h"

namespace aigw {
namespace {

std::string hex(const uint8_t* p, size_t n) {
  std::string s;
  char b[4];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%02x", p[i]);
    if (i > 0) s += ' ';
    s += b;
  }
  return s;
}

std::string hex(const std::vector<uint8_t>& v) { return hex(v.data(), v.size()); }

DataHeader example_header() {
  DataHeader h;
  h.flags = data_flag::last_fragment;
  h.fragment_index = 945;
  h.stream_id = 7;
  h.unit_seq = 42;
  h.fragment_count = 946;
  h.unit_length = 688688;
  h.payload_length = 728;
  h.send_time_us = 1000000;
  return h;
}

TEST(WireExamples, DataHeader) {
  uint8_t b[kDataHeaderSize];
  DataHeader h = example_header();
  encode_data_header(h, b);
  EXPECT_EQ(hex(b, sizeof b),
            "41 47 01 01 02 20 03 b1 00 00 00 07 00 00 00 2a "
            "03 b2 02 d8 00 0a 82 30 00 0f 42 40 dc f1 f7 92");
  h.flags = data_flag::retransmission;
  h.fragment_index = 17;
  encode_data_header(h, b);
  EXPECT_EQ(hex(b, sizeof b),
            "41 47 01 01 01 20 00 11 00 00 00 07 00 00 00 2a "
            "03 b2 02 d8 00 0a 82 30 00 0f 42 40 ce 07 fe da");
}

TEST(WireExamples, Crc32cCheckValue) { EXPECT_EQ(crc32c("123456789", 9), 0xe3069283u); }

TEST(WireExamples, UnitDigest) {
  uint8_t u[9] = {'h', 'e', 'l', 'l', 'o'};
  EXPECT_EQ(append_unit_digest(u, 5), 9u);
  EXPECT_EQ(hex(u, sizeof u), "68 65 6c 6c 6f 9a 71 bb 4c");
  EXPECT_TRUE(verify_unit_digest(u, sizeof u));
}

std::string chunk_hex(const std::vector<uint16_t>& missing, NackChunk& out) {
  static uint8_t scratch[1200];
  encode_nack_chunk(missing.data(), missing.size(), scratch, sizeof scratch, out);
  return hex(out.bytes, out.size);
}

TEST(WireExamples, NackEncodings) {
  NackChunk c;
  EXPECT_EQ(chunk_hex({3, 900}, c), "00 03 03 84");
  EXPECT_EQ(c.encoding, NackEncoding::list);
  std::vector<uint16_t> run;
  for (uint16_t i = 100; i < 300; ++i) run.push_back(i);
  EXPECT_EQ(chunk_hex(run, c), "00 64 00 c8");
  EXPECT_EQ(c.encoding, NackEncoding::ranges);
  EXPECT_EQ(chunk_hex({10, 12, 14, 17, 25}, c), "a9 01");
  EXPECT_EQ(c.encoding, NackEncoding::bitmap);
  EXPECT_EQ(c.first_fragment, 10);
  EXPECT_EQ(c.missing_count, 5);
}

TEST(WireExamples, SealedRetransmitRequest) {
  ctl::RetransmitRequest r;
  r.set_stream_id(7);
  r.set_unit_seq(42);
  r.set_fragment_count(946);
  r.set_encoding(ctl::NACK_BITMAP);
  r.set_first_fragment(10);
  r.set_missing_count(5);
  r.set_missing(std::string("\xa9\x01", 2));
  r.set_round(1);
  const std::string body = r.SerializeAsString();
  EXPECT_EQ(hex(reinterpret_cast<const uint8_t*>(body.data()), body.size()),
            "08 07 10 2a 18 b2 07 20 02 28 0a 30 05 3a 02 a9 01 40 01");
  ControlKey key;
  key.fill(0x42);
  EnvelopeSealer sealer(0x101, 1, key, 1);
  std::vector<uint8_t> out;
  ASSERT_TRUE(sealer.seal(MessageType::retransmit_request, body, out));
  EXPECT_EQ(hex(out),
            "41 43 01 05 00 00 01 01 00 00 00 01 00 00 00 00 "
            "00 00 00 01 00 00 00 13 08 07 10 2a 18 b2 07 20 "
            "02 28 0a 30 05 3a 02 a9 01 40 01 19 27 27 6a 74 "
            "ca c2 6e 69 5b 65 d6 60 0e 30 2a 07 22 6c fb db "
            "59 4a ce 24 7c b5 12 6b 32 85 f9");
  KeyRing ring;
  ring.add(1, key);
  RingKeys keys(ring);
  EnvelopeOpener opener(keys);
  EnvelopeView v;
  EXPECT_EQ(opener.open(out.data(), out.size(), v), EnvelopeError::ok);
}

}  // namespace
}  // namespace aigw
