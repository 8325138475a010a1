// Helpers shared by the gateway tests: deterministic unit contents, a PacketOut that
// captures whole datagrams, and a fixed control key.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "protocol/envelope.h"
#include "protocol/unit_digest.h"
#include "protocol/unit_sender.h"

namespace aigw::test {

inline ControlKey test_key() {
  ControlKey k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(0xa0 + i);
  return k;
}
inline constexpr uint32_t kTestKeyId = 3;

/// A unit of `content` pseudo-random bytes (seeded by stream and seq) plus its digest.
inline std::vector<uint8_t> unit_bytes(uint32_t stream, uint32_t seq, size_t content) {
  std::vector<uint8_t> u(content + kUnitDigestSize);
  std::mt19937 rng(stream * 7919u + seq);
  for (size_t i = 0; i < content; ++i) u[i] = static_cast<uint8_t>(rng());
  append_unit_digest(u.data(), content);
  return u;
}

/// Captures each fragment as one datagram (header followed by payload).
struct Capture : PacketOut {
  std::vector<std::vector<uint8_t>> packets;
  bool send_fragment(uint32_t, const uint8_t* header, const uint8_t* payload, size_t len, uint32_t) override {
    std::vector<uint8_t> d(kDataHeaderSize + len);
    std::memcpy(d.data(), header, kDataHeaderSize);
    std::memcpy(d.data() + kDataHeaderSize, payload, len);
    packets.push_back(std::move(d));
    return true;
  }
};

}  // namespace aigw::test
