// Helpers shared by the gateway tests: deterministic unit contents, a PacketOut that
// captures whole datagrams, and a fixed control key.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "protocol/envelope.h"
#include "protocol/node_keys.h"
#include "protocol/unit_digest.h"
#include "protocol/unit_sender.h"
#include "tests/common/test_key.h"

namespace aigw::test {

inline constexpr uint32_t kTestKeyId = 3;

// The gateway under test holds test_key() as its node key; these are the keys its peers
// would have been given for it.
inline constexpr uint32_t kTestDeviceId = 1;  ///< the owner every test stream names
inline const uint32_t kTestGpuSender = make_sender_id(NodeRole::gpu, 1);

/// A GPU server's sealer for acks and NACKs to the gateway: its pair key. Counters a
/// minute ahead, so a capture written before the gateway starts is still fresh.
inline EnvelopeSealer gpu_sealer(uint32_t gpu_sender = kTestGpuSender) {
  return EnvelopeSealer(gpu_sender, kPairKeyFlag | kTestKeyId, derive_pair_key(test_key(), gpu_sender),
                        envelope_counter_start() + 60'000'000'000ull);
}
/// The controller's sealer for commands to the gateway: the gateway's node key.
inline EnvelopeSealer controller_sealer() {
  return EnvelopeSealer(make_sender_id(NodeRole::controller, 1), kTestKeyId, test_key(), envelope_counter_start());
}

/// Opens what the gateway sends: to the controller under its node key, to the test
/// device (kTestDeviceId) under that device's pair key.
class GatewayPeerKeys final : public KeySource {
 public:
  KeyLookup key_for(uint32_t key_id, uint32_t, ControlKey& out) const override {
    if (key_id == (kPairKeyFlag | kTestKeyId)) out = derive_pair_key(test_key(), make_sender_id(NodeRole::device, kTestDeviceId));
    else if (key_id == kTestKeyId) out = test_key();
    else return KeyLookup::unknown_key;
    return KeyLookup::found;
  }
};

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
