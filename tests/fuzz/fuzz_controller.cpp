// The controller past authentication: authentic envelopes with arbitrary bodies, types
// and senders, several per input, with time moving on between them. Nothing may crash.
// Input: repeated [type u8][role u8][node u8][advance_ms u8][len u8][body len bytes].
#include <cstdint>
#include <cstdlib>

#include "controller/core/controller.h"
#include "protocol/node_keys.h"
#include "tests/fuzz/quiet_logs.h"

namespace {

using namespace aigw;
using namespace aigw::controller;

class NullTransport : public Transport {
 public:
  bool send(const UdpEndpoint&, const std::vector<uint8_t>&) override { return true; }
};

ControllerConfig fuzz_config() {
  ControllerConfig c;
  c.keys.push_back({1, std::string(64, '4'), {}});
  c.admission_warmup_ms = 0;
  c.sync_period_ms = 100;
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ControllerConfig cfg = fuzz_config();
  static ControlKey key = [] {
    ControlKey k{};
    KeyRing::parse_hex(std::string(64, '4'), k);
    return k;
  }();
  NullTransport net;
  int64_t now = 1'000'000'000'000;
  Controller ctl(cfg, net, now, 1);
  uint64_t counter = 1;
  std::vector<uint8_t> sealed;
  size_t i = 0;
  while (i + 5 <= size) {
    const uint8_t type = data[i] % (kMaxMessageType + 1);
    const uint32_t role = data[i + 1] % 5;
    const uint32_t node = data[i + 2] % 8;
    now += int64_t(data[i + 3]) * 1'000'000;
    const size_t len = std::min<size_t>(data[i + 4], size - i - 5);
    // Sealed under the node key of the id it claims, so every body reaches its handler.
    EnvelopeSealer s((role << 24) | node, 1, derive_node_key(key, (role << 24) | node), counter++);
    UdpEndpoint from;
    make_endpoint("127.0.0.1", 1000 + node, from);
    if (type != 0 && s.seal(static_cast<MessageType>(type), data + i + 5, len, sealed))
      ctl.on_datagram(sealed.data(), sealed.size(), from, now);
    ctl.poll(now);
    i += 5 + len;
  }
  return 0;
}
