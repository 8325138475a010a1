// A loopback UDP node for tests that play the controller or a gateway: it seals and
// opens real envelopes (protocol/envelope.h) on a socket bound to 127.0.0.1, port 0.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/envelope.h"
#include "protocol/node_keys.h"
#include "protocol/udp_endpoint.h"
#include "protocol/udp_socket.h"
#include "tests/common/test_key.h"

namespace aigw::edge::test {

/// The node key the devices and servers under test hold (as provisioned for them).
using aigw::test::test_key;

/// The pair key of the gateway these tests play, and its box for a node holding
/// test_key(): what a controller puts in AdmissionReply, MigrateCommand and PeerKeys.
inline ControlKey test_pair_key() {
  ControlKey k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(0x51 + 3 * i);
  return k;
}
inline std::string test_pair_key_box() { return seal_key_box(test_key(), test_pair_key()); }
inline constexpr uint32_t kTestPairKeyId = kPairKeyFlag | 1;

/// A socket on 127.0.0.1, any port (in `bound`); blocking, so a test's sends wait for
/// buffer room rather than fail.
inline int open_loopback_socket(UdpEndpoint& bound) {
  UdpEndpoint loopback;
  make_endpoint("127.0.0.1", 0, loopback);
  UdpSocketOptions opts;
  opts.blocking = true;
  std::string error;
  const int fd = open_udp_socket(loopback, opts, bound, error);
  EXPECT_GE(fd, 0) << error;
  return fd;
}

/// Opens with the node key for key ids without the pair flag, the pair key with it.
class PeerKeySource final : public KeySource {
 public:
  PeerKeySource(uint32_t key_id, const ControlKey& key) : key_id_(key_id), key_(key) {}
  KeyLookup key_for(uint32_t key_id, uint32_t, ControlKey& out) const override {
    if (key_id == kTestPairKeyId) out = test_pair_key();
    else if (key_id == key_id_) out = key_;
    else return KeyLookup::unknown_key;
    return KeyLookup::found;
  }

 private:
  uint32_t key_id_;
  ControlKey key_;
};
struct Received {
  MessageType type{};
  uint32_t sender_id = 0;
  std::string body;
  UdpEndpoint from;
};

class UdpPeer {
 public:
  UdpPeer(uint32_t sender_id, uint32_t key_id = 1, const ControlKey& key = test_key())
      : keys_(key_id, key), sealer_(sender_id, key_id, key, envelope_counter_start()), opener_(keys_) {
    fd_ = open_loopback_socket(local_);
  }
  ~UdpPeer() { close(fd_); }
  UdpPeer(const UdpPeer&) = delete;
  UdpPeer& operator=(const UdpPeer&) = delete;

  int fd() const { return fd_; }
  const UdpEndpoint& local() const { return local_; }
  std::string address() const { return local_.to_string(); }

  /// Waits up to timeout_ms for one datagram that opens as an envelope.
  bool receive(Received& out, int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    return read_one(out);
  }
  /// Reads one datagram now (the caller polled); false when it is not a valid envelope.
  bool read_one(Received& out) {
    uint8_t buf[65536];
    UdpEndpoint from;
    from.len = sizeof from.addr;
    const ssize_t n = recvfrom(fd_, buf, sizeof buf, MSG_DONTWAIT, from.sa(), &from.len);
    if (n < 0) return false;
    EnvelopeView v;
    if (opener_.open(buf, static_cast<size_t>(n), v) != EnvelopeError::ok) return false;
    out.type = v.type;
    out.sender_id = v.sender_id;
    out.body.assign(reinterpret_cast<const char*>(v.body), v.body_len);
    out.from = from;
    return true;
  }
  void send(const UdpEndpoint& to, MessageType type, const std::string& body) {
    std::vector<uint8_t> out;
    sealer_.seal(type, body, out);
    sendto(fd_, out.data(), out.size(), 0, to.sa(), to.len);
  }
  /// Sealed under another key: a pair key, as a gateway to a device.
  void send_with(const UdpEndpoint& to, uint32_t key_id, const ControlKey& key, MessageType type, const std::string& body) {
    std::vector<uint8_t> out;
    sealer_.seal_with(key_id, key, type, body, out);
    sendto(fd_, out.data(), out.size(), 0, to.sa(), to.len);
  }

 private:
  PeerKeySource keys_;
  EnvelopeSealer sealer_;
  EnvelopeOpener opener_;
  int fd_ = -1;
  UdpEndpoint local_;
};

}  // namespace aigw::edge::test
