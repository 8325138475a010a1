#include "protocol/nack.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "protocol/byte_order.h"

namespace aigw {
namespace {

struct Encoded {
  NackChunk chunk;
  std::vector<uint8_t> bytes;
};

std::vector<Encoded> encode_all(const std::vector<uint16_t>& missing, uint16_t count,
                                size_t max_bytes) {
  std::vector<uint8_t> scratch(max_bytes);
  std::vector<Encoded> out;
  const size_t chunks = encode_nack(missing.data(), missing.size(), count, scratch.data(),
                                    max_bytes, [&](const NackChunk& c) {
                                      Encoded e{c, std::vector<uint8_t>(c.bytes, c.bytes + c.size)};
                                      e.chunk.bytes = nullptr;
                                      out.push_back(e);
                                    });
  EXPECT_EQ(chunks, out.size());
  return out;
}

std::vector<uint16_t> decode_ok(const Encoded& e, uint16_t count) {
  std::vector<uint16_t> out(65535);
  size_t n = 0;
  const NackError err = decode_nack(e.chunk.encoding, e.chunk.first_fragment, e.chunk.missing_count,
                                    count, e.bytes.data(), e.bytes.size(), out.data(), out.size(), n);
  EXPECT_EQ(err, NackError::ok) << to_string(err);
  out.resize(n);
  return out;
}

// Encodes, checks every chunk fits and is its prefix's smallest form, decodes back.
std::vector<Encoded> round_trip(const std::vector<uint16_t>& missing, uint16_t count,
                                size_t max_bytes) {
  auto chunks = encode_all(missing, count, max_bytes);
  std::vector<uint16_t> back;
  size_t at = 0;
  for (const Encoded& e : chunks) {
    EXPECT_LE(e.bytes.size(), max_bytes);
    EXPECT_GT(e.chunk.missing_count, 0);
    const uint16_t* part = missing.data() + at;
    const size_t n = e.chunk.missing_count;
    const size_t smallest = std::min({nack_list_size(n), nack_ranges_size(part, n),
                                      nack_bitmap_size(part, n)});
    EXPECT_EQ(e.bytes.size(), smallest);
    auto d = decode_ok(e, count);
    back.insert(back.end(), d.begin(), d.end());
    at += n;
  }
  EXPECT_EQ(back, missing);
  return chunks;
}

std::vector<uint16_t> random_loss(std::mt19937& rng, uint16_t count, double p) {
  std::bernoulli_distribution lost(p);
  std::vector<uint16_t> m;
  for (uint32_t i = 0; i < count; ++i) {
    if (lost(rng)) m.push_back(static_cast<uint16_t>(i));
  }
  if (m.empty()) m.push_back(static_cast<uint16_t>(rng() % count));
  return m;
}

TEST(Nack, SparseSetUsesTheList) {
  auto c = round_trip({3, 900}, 946, 1200);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].chunk.encoding, NackEncoding::list);
  EXPECT_EQ(c[0].chunk.first_fragment, 0);
  EXPECT_EQ(c[0].bytes, (std::vector<uint8_t>{0x00, 0x03, 0x03, 0x84}));
}

TEST(Nack, RunUsesRanges) {
  std::vector<uint16_t> m;
  for (uint16_t i = 100; i < 300; ++i) m.push_back(i);
  auto c = round_trip(m, 946, 1200);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].chunk.encoding, NackEncoding::ranges);
  EXPECT_EQ(c[0].bytes, (std::vector<uint8_t>{0x00, 0x64, 0x00, 0xC8}));
}

TEST(Nack, DenseScatterUsesTheBitmap) {
  auto c = round_trip({10, 12, 14, 17, 25}, 946, 1200);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].chunk.encoding, NackEncoding::bitmap);
  EXPECT_EQ(c[0].chunk.first_fragment, 10);
  // bits 0, 2, 4, 7 (fragments 10, 12, 14, 17) and bit 15 (fragment 25)
  EXPECT_EQ(c[0].bytes, (std::vector<uint8_t>{0xA9, 0x01}));
}

TEST(Nack, AnyLossOfA946FragmentUnitFitsOneChunk) {
  std::mt19937 rng(946);
  for (double p : {0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0}) {
    for (int trial = 0; trial < 40; ++trial) {
      auto m = random_loss(rng, 946, p);
      auto c = round_trip(m, 946, 1200);
      ASSERT_EQ(c.size(), 1u) << "p=" << p;
      EXPECT_LE(c[0].bytes.size(), 119u);  // never worse than the whole-unit bitmap
    }
  }
  // Adversarial shapes: alternating, every third, and all.
  for (int stride : {1, 2, 3, 9}) {
    std::vector<uint16_t> m;
    for (int i = 0; i < 946; i += stride) m.push_back(static_cast<uint16_t>(i));
    auto c = round_trip(m, 946, 1200);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_LE(c[0].bytes.size(), 119u);
  }
}

TEST(Nack, SplitsA65535FragmentUnitUnder1200Bytes) {
  std::mt19937 rng(65535);
  for (double p : {0.01, 0.1, 0.5}) {
    auto m = random_loss(rng, 65535, p);
    auto c = round_trip(m, 65535, 1200);
    EXPECT_GT(c.size(), 1u) << "p=" << p;
  }
  // Everything missing is one run.
  auto all = round_trip(random_loss(rng, 65535, 1.0), 65535, 1200);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].chunk.encoding, NackEncoding::ranges);
  EXPECT_EQ(all[0].bytes, (std::vector<uint8_t>{0x00, 0x00, 0xFF, 0xFF}));
  std::vector<uint16_t> alternating;
  for (uint32_t i = 0; i < 65535; i += 2) alternating.push_back(static_cast<uint16_t>(i));
  auto c = round_trip(alternating, 65535, 1200);
  for (const Encoded& e : c) EXPECT_EQ(e.chunk.encoding, NackEncoding::bitmap);
  // 32768 missing, 9600 per 1200-byte bitmap window of 4800 fragments.
  EXPECT_EQ(c.size(), 7u);
}

TEST(Nack, TinyBudgetStillProgresses) {
  std::vector<uint16_t> m{0, 7, 300, 301, 302, 9000};
  auto c = round_trip(m, 10000, 8);
  EXPECT_GE(c.size(), 2u);
  // One byte still holds a bitmap of eight fragments; zero bytes hold nothing.
  std::vector<uint8_t> scratch(1);
  NackChunk chunk;
  EXPECT_EQ(encode_nack_chunk(m.data(), m.size(), scratch.data(), 1, chunk), 2u);
  EXPECT_EQ(chunk.encoding, NackEncoding::bitmap);
  EXPECT_EQ(scratch[0], 0x81);
  EXPECT_EQ(encode_nack_chunk(m.data(), m.size(), scratch.data(), 0, chunk), 0u);
}

NackError decode(NackEncoding enc, uint32_t first, uint32_t missing_count, uint32_t count,
                 const std::vector<uint8_t>& bytes, size_t cap = 100) {
  std::vector<uint16_t> out(cap + 1);
  size_t n = 0;
  const NackError e = decode_nack(enc, first, missing_count, count, bytes.data(), bytes.size(),
                                  out.data(), cap, n);
  EXPECT_LE(n, cap);
  return e;
}

TEST(Nack, DecodeErrors) {
  using E = NackEncoding;
  EXPECT_EQ(decode(static_cast<E>(3), 0, 1, 10, {0, 1}), NackError::bad_encoding);
  EXPECT_EQ(decode(E::list, 0, 0, 10, {}), NackError::bad_size);
  EXPECT_EQ(decode(E::list, 0, 1, 10, {0, 1, 2}), NackError::bad_size);
  EXPECT_EQ(decode(E::ranges, 0, 1, 10, {0, 1, 0}), NackError::bad_size);
  EXPECT_EQ(decode(E::ranges, 0, 0, 10, {}), NackError::bad_size);
  EXPECT_EQ(decode(E::bitmap, 0, 0, 10, {}), NackError::bad_size);
  EXPECT_EQ(decode(E::bitmap, 0, 1, 10, {0x80, 0, 0}), NackError::bad_size);  // byte past unit
  EXPECT_EQ(decode(E::bitmap, 0, 0, 10, {0, 0}), NackError::bad_size);        // names nothing
  EXPECT_EQ(decode(E::list, 0, 1, 10, {0, 10}), NackError::out_of_range);
  EXPECT_EQ(decode(E::ranges, 0, 3, 10, {0, 8, 0, 3}), NackError::out_of_range);
  EXPECT_EQ(decode(E::bitmap, 8, 1, 10, {0x20}), NackError::out_of_range);  // fragment 10
  EXPECT_EQ(decode(E::list, 0, 2, 10, {0, 5, 0, 5}), NackError::not_ascending);
  EXPECT_EQ(decode(E::list, 0, 2, 10, {0, 5, 0, 4}), NackError::not_ascending);
  EXPECT_EQ(decode(E::ranges, 0, 4, 10, {0, 1, 0, 2, 0, 3, 0, 2}), NackError::not_ascending);
  EXPECT_EQ(decode(E::ranges, 0, 4, 10, {0, 1, 0, 2, 0, 0, 0, 2}), NackError::not_ascending);
  EXPECT_EQ(decode(E::ranges, 0, 1, 10, {0, 1, 0, 0}), NackError::empty_run);
  EXPECT_EQ(decode(E::list, 0, 2, 10, {0, 1}), NackError::count_mismatch);
  EXPECT_EQ(decode(E::ranges, 0, 1, 10, {0, 1, 0, 2}), NackError::count_mismatch);
  EXPECT_EQ(decode(E::bitmap, 0, 1, 10, {0xC0}), NackError::count_mismatch);
  EXPECT_EQ(decode(E::list, 0, 3, 10, {0, 1, 0, 2, 0, 3}, 2), NackError::too_many);
  EXPECT_EQ(decode(E::list, 0, 1, 0, {0, 0}), NackError::bad_window);
  EXPECT_EQ(decode(E::list, 0, 1, 70000, {0, 0}), NackError::bad_window);
  EXPECT_EQ(decode(E::list, 1, 1, 10, {0, 1}), NackError::bad_window);
  EXPECT_EQ(decode(E::ranges, 2, 1, 10, {0, 1, 0, 1}), NackError::bad_window);
  EXPECT_EQ(decode(E::bitmap, 10, 1, 10, {0x80}), NackError::bad_window);
  // And the valid forms of the same shapes.
  EXPECT_EQ(decode(E::list, 0, 3, 10, {0, 1, 0, 2, 0, 9}), NackError::ok);
  EXPECT_EQ(decode(E::ranges, 0, 4, 10, {0, 1, 0, 2, 0, 7, 0, 2}), NackError::ok);
  EXPECT_EQ(decode(E::bitmap, 8, 2, 10, {0xC0}), NackError::ok);
  for (NackError e : {NackError::ok, NackError::bad_encoding, NackError::bad_size,
                      NackError::out_of_range, NackError::not_ascending, NackError::count_mismatch,
                      NackError::too_many, NackError::bad_window, NackError::empty_run}) {
    EXPECT_STRNE(to_string(e), "unknown");
  }
}

TEST(Nack, MissingFragmentsFromABitmap) {
  std::vector<uint64_t> received(3, ~uint64_t{0});  // 192 fragments, all held
  received[0] &= ~(uint64_t{1} << 0);
  received[0] &= ~(uint64_t{1} << 63);
  received[1] &= ~(uint64_t{1} << 5);   // fragment 69
  received[2] = 0;                      // 128..191 all missing
  std::vector<uint16_t> out(192);
  size_t n = missing_fragments(received.data(), 0, 130, out.data());
  out.resize(n);
  EXPECT_EQ(out, (std::vector<uint16_t>{0, 63, 69, 128, 129}));
  out.assign(192, 0);
  n = missing_fragments(received.data(), 63, 69, out.data());  // [63, 69): 69 excluded
  out.resize(n);
  EXPECT_EQ(out, std::vector<uint16_t>{63});
  EXPECT_EQ(missing_fragments(received.data(), 1, 63, out.data()), 0u);
  EXPECT_EQ(missing_fragments(received.data(), 70, 70, out.data()), 0u);
  EXPECT_EQ(missing_fragments(received.data(), 128, 192, out.data()), 64u);
}

TEST(Nack, SizesOfEachEncoding) {
  const std::vector<uint16_t> m{1, 2, 3, 8, 20};
  EXPECT_EQ(nack_list_size(m.size()), 10u);
  EXPECT_EQ(nack_ranges_size(m.data(), m.size()), 12u);
  EXPECT_EQ(nack_bitmap_size(m.data(), m.size()), 3u);
  EXPECT_EQ(nack_bitmap_size(m.data(), 0), 0u);
}

}  // namespace
}  // namespace aigw
