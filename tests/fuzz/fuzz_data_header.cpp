// Any byte string must decode to ok or a specific error, never crash, and an ok
// header must re-encode to the same 32 bytes.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "protocol/data_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  aigw::DataHeader h;
  if (aigw::decode_data_header(data, size, h) == aigw::DecodeError::ok) {
    uint8_t again[aigw::kDataHeaderSize];
    aigw::encode_data_header(h, again);
    if (std::memcmp(again, data, aigw::kDataHeaderSize) != 0) std::abort();
    if (size - aigw::kDataHeaderSize < h.payload_length) std::abort();
    // The decoder's inlined geometry check agrees with UnitGeometry.
    const aigw::UnitGeometry g{h.unit_length, h.fragment_count};
    if (!g.valid() || g.payload_length(h.fragment_index) != h.payload_length) std::abort();
  }
  return 0;
}
