// The NACK decoder must take any chunk: ok or a specific error, never a crash. A chunk
// that decodes names ascending fragments below the unit's count, as many as it says;
// re-encoding that set round-trips and is never larger than the input.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "protocol/byte_order.h"
#include "protocol/nack.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // [encoding u8][first u16][missing_count u16][fragment_count u16][cap u16][chunk bytes]
  if (size < 9) return 0;
  const auto encoding = static_cast<aigw::NackEncoding>(data[0] % 4);
  const uint32_t first = aigw::wire::get_u16(data + 1);
  const uint32_t missing_count = aigw::wire::get_u16(data + 3);
  const uint32_t count = aigw::wire::get_u16(data + 5) | (data[0] & 0x80 ? 0x10000u : 0u);
  const size_t cap = aigw::wire::get_u16(data + 7);
  const uint8_t* bytes = data + 9;
  const size_t len = size - 9;

  static std::vector<uint16_t> out(65536);
  size_t n = 0;
  const aigw::NackError e =
      aigw::decode_nack(encoding, first, missing_count, count, bytes, len, out.data(), cap, n);
  if (n > cap) std::abort();
  if (aigw::to_string(e)[0] == 'u') std::abort();  // every error has a name
  if (e != aigw::NackError::ok) return 0;
  if (n != missing_count || n == 0) std::abort();
  for (size_t i = 0; i < n; ++i) {
    if (out[i] >= count || (i > 0 && out[i] <= out[i - 1])) std::abort();
  }
  // Re-encode under a budget as large as the input: the input is one of the three forms
  // of the set, so the smallest fits: one chunk, no larger.
  static std::vector<uint8_t> scratch(65536);
  const size_t budget = len;
  std::vector<uint16_t> again;
  size_t chunks = 0;
  aigw::encode_nack(out.data(), n, static_cast<uint16_t>(count), scratch.data(), budget,
                    [&](const aigw::NackChunk& c) {
                      ++chunks;
                      if (c.size > len) std::abort();
                      static std::vector<uint16_t> back(65536);
                      size_t m = 0;
                      if (aigw::decode_nack(c.encoding, c.first_fragment, c.missing_count, count,
                                            c.bytes, c.size, back.data(), back.size(),
                                            m) != aigw::NackError::ok) {
                        std::abort();
                      }
                      again.insert(again.end(), back.begin(), back.begin() + m);
                    });
  if (chunks != 1) std::abort();
  if (again.size() != n) std::abort();
  for (size_t i = 0; i < n; ++i) {
    if (again[i] != out[i]) std::abort();
  }
  return 0;
}
