#include "protocol/retransmit_request.h"

#include <gtest/gtest.h>

#include <vector>

#include "protocol/nack.h"

namespace aigw {
namespace {

// A NACK that went through the wire message (serialised and parsed back) names exactly
// the fragments the receiver found missing, in each of the three encodings.
TEST(RetransmitRequest, CarriesEveryFieldAndTheMissingFragments) {
  const uint16_t fragment_count = 945;
  const std::vector<std::vector<uint16_t>> cases = {
      {3, 17, 400},                                       // sparse: list
      {100, 101, 102, 103, 104, 105, 106, 107, 500, 501},  // runs: ranges
      {},                                                 // filled below: bitmap
  };
  for (size_t c = 0; c < cases.size(); ++c) {
    std::vector<uint16_t> missing = cases[c];
    if (missing.empty())
      for (uint16_t f = 0; f < 300; f += 2) missing.push_back(f);
    std::vector<uint8_t> scratch(1200);
    size_t chunks = 0;
    encode_nack(missing.data(), missing.size(), fragment_count, scratch.data(), scratch.size(),
                [&](const NackChunk& chunk) {
                  ++chunks;
                  EXPECT_EQ(chunk.encoding, static_cast<NackEncoding>(c));  // list, ranges, bitmap
                  const NackOut nack{7, 0xfffffff0u + static_cast<uint32_t>(c), fragment_count, 2, chunk};
                  ctl::RetransmitRequest stale;
                  stale.set_missing("left over from a previous use");
                  to_retransmit_request(nack, stale);
                  ctl::RetransmitRequest r;
                  ASSERT_TRUE(r.ParseFromString(stale.SerializeAsString()));
                  EXPECT_EQ(r.stream_id(), 7u);
                  EXPECT_EQ(r.unit_seq(), nack.unit_seq);
                  EXPECT_EQ(r.fragment_count(), fragment_count);
                  EXPECT_EQ(r.round(), 2u);
                  EXPECT_EQ(static_cast<NackEncoding>(r.encoding()), chunk.encoding);
                  std::vector<uint16_t> decoded(fragment_count);
                  size_t n = 0;
                  ASSERT_EQ(decode_nack(static_cast<NackEncoding>(r.encoding()), r.first_fragment(),
                                        r.missing_count(), r.fragment_count(),
                                        reinterpret_cast<const uint8_t*>(r.missing().data()),
                                        r.missing().size(), decoded.data(), decoded.size(), n),
                            NackError::ok);
                  decoded.resize(n);
                  EXPECT_EQ(decoded, missing) << "case " << c;
                });
    EXPECT_EQ(chunks, 1u);
  }
}

}  // namespace
}  // namespace aigw
