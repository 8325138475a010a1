// Per-unit AEAD and digest helpers: round trip, tamper detection, binding to stream and
// sequence number, buffer and argument checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "aigw/edge_crypto.h"
#include "protocol/unit_digest.h"

namespace {

struct Keys {
  uint8_t a[AIGW_UNIT_KEY_BYTES];
  uint8_t b[AIGW_UNIT_KEY_BYTES];
  Keys() {
    for (int i = 0; i < AIGW_UNIT_KEY_BYTES; ++i) {
      a[i] = static_cast<uint8_t>(i);
      b[i] = static_cast<uint8_t>(0x80 + i);
    }
  }
};

std::vector<uint8_t> seal(const uint8_t* key, uint32_t stream, uint32_t seq,
                          const std::vector<uint8_t>& plain) {
  std::vector<uint8_t> wire(plain.size() + AIGW_UNIT_SEAL_OVERHEAD);
  size_t n = 0;
  EXPECT_EQ(aigw_unit_seal(key, stream, seq, plain.data(), plain.size(), wire.data(), wire.size(), &n),
            AIGW_OK);
  EXPECT_EQ(n, wire.size());
  return wire;
}

int open(const uint8_t* key, uint32_t stream, uint32_t seq, const std::vector<uint8_t>& wire,
         std::vector<uint8_t>& plain) {
  plain.assign(wire.size() >= AIGW_UNIT_SEAL_OVERHEAD ? wire.size() - AIGW_UNIT_SEAL_OVERHEAD : 0, 0);
  size_t n = 0;
  const int rc = aigw_unit_open(key, stream, seq, wire.data(), wire.size(), plain.data(),
                                plain.size(), &n);
  if (rc == AIGW_OK) plain.resize(n);
  return rc;
}

TEST(UnitCrypto, RoundTrip) {
  Keys k;
  std::vector<uint8_t> plain(100000);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<uint8_t>(i * 7);
  const auto wire = seal(k.a, 3, 9, plain);
  std::vector<uint8_t> out;
  ASSERT_EQ(open(k.a, 3, 9, wire, out), AIGW_OK);
  EXPECT_EQ(out, plain);
  // Random nonces: the same unit seals differently each time.
  EXPECT_NE(seal(k.a, 3, 9, plain), wire);
}

TEST(UnitCrypto, EmptyUnitRoundTrips) {
  Keys k;
  const auto wire = seal(k.a, 1, 1, {});
  EXPECT_EQ(wire.size(), static_cast<size_t>(AIGW_UNIT_SEAL_OVERHEAD));
  std::vector<uint8_t> out;
  EXPECT_EQ(open(k.a, 1, 1, wire, out), AIGW_OK);
  EXPECT_TRUE(out.empty());
}

TEST(UnitCrypto, TamperingIsDetected) {
  Keys k;
  const std::vector<uint8_t> plain(5000, 0x33);
  const auto wire = seal(k.a, 3, 9, plain);
  std::vector<uint8_t> out;
  // A flipped bit without a fixed-up digest is transport damage.
  auto damaged = wire;
  damaged[100] ^= 1;
  EXPECT_EQ(open(k.a, 3, 9, damaged, out), AIGW_ERR_DIGEST);
  // A deliberate change with a recomputed digest (what a malicious gateway could do)
  // fails authentication and leaves no partial plaintext behind.
  auto forged = wire;
  forged[100] ^= 1;
  aigw::append_unit_digest(forged.data(), forged.size() - AIGW_UNIT_DIGEST_BYTES);
  EXPECT_EQ(open(k.a, 3, 9, forged, out), AIGW_ERR_AUTH);
  EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0; }));
}

TEST(UnitCrypto, WrongKeyStreamOrSequenceFails) {
  Keys k;
  const std::vector<uint8_t> plain(1000, 0x44);
  const auto wire = seal(k.a, 3, 9, plain);
  std::vector<uint8_t> out;
  EXPECT_EQ(open(k.b, 3, 9, wire, out), AIGW_ERR_AUTH);
  EXPECT_EQ(open(k.a, 4, 9, wire, out), AIGW_ERR_AUTH);   // replayed under another stream
  EXPECT_EQ(open(k.a, 3, 10, wire, out), AIGW_ERR_AUTH);  // or another sequence number
}

TEST(UnitCrypto, BufferAndArgumentChecks) {
  Keys k;
  const std::vector<uint8_t> plain(100, 1);
  std::vector<uint8_t> small(plain.size() + AIGW_UNIT_SEAL_OVERHEAD - 1);
  size_t n = 0;
  EXPECT_EQ(aigw_unit_seal(k.a, 1, 1, plain.data(), plain.size(), small.data(), small.size(), &n),
            AIGW_ERR_BUFFER);
  EXPECT_EQ(aigw_unit_seal(nullptr, 1, 1, plain.data(), plain.size(), small.data(), small.size(), &n),
            AIGW_ERR_INVALID_ARG);
  EXPECT_EQ(aigw_unit_seal(k.a, 1, 1, nullptr, 10, small.data(), small.size(), &n),
            AIGW_ERR_INVALID_ARG);
  const auto wire = seal(k.a, 1, 1, plain);
  std::vector<uint8_t> out(plain.size() - 1);
  EXPECT_EQ(aigw_unit_open(k.a, 1, 1, wire.data(), wire.size(), out.data(), out.size(), &n),
            AIGW_ERR_BUFFER);
  EXPECT_EQ(aigw_unit_open(k.a, 1, 1, wire.data(), 10, out.data(), out.size(), &n), AIGW_ERR_DIGEST);
  EXPECT_EQ(aigw_unit_open(k.a, 1, 1, nullptr, wire.size(), out.data(), out.size(), &n),
            AIGW_ERR_INVALID_ARG);
}

TEST(UnitCrypto, PlainUnitDigest) {
  std::vector<uint8_t> unit = {1, 2, 3, 4, 5};
  unit.resize(unit.size() + AIGW_UNIT_DIGEST_BYTES);
  aigw::append_unit_digest(unit.data(), 5);
  size_t content = 0;
  ASSERT_EQ(aigw_unit_verify(unit.data(), unit.size(), &content), AIGW_OK);
  EXPECT_EQ(content, 5u);
  unit[2] ^= 0x10;
  EXPECT_EQ(aigw_unit_verify(unit.data(), unit.size(), &content), AIGW_ERR_DIGEST);
  EXPECT_EQ(aigw_unit_verify(unit.data(), 3, &content), AIGW_ERR_DIGEST);
  EXPECT_EQ(aigw_unit_verify(nullptr, 3, &content), AIGW_ERR_INVALID_ARG);
}

}  // namespace
