// A device written by hand for the hostile suite: it speaks the real control protocol
// (a sealed AdmissionRequest, an authenticated AdmissionReply) to admit a stream of its
// own, then sends whatever data datagrams a test crafts from the source address it
// declared. Anything an attacker holding a device key can do, this can.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "controller/core/node_id.h"
#include "protocol/control.pb.h"
#include "protocol/crc32c.h"
#include "protocol/data_header.h"
#include "protocol/envelope.h"
#include "tests/controller/cluster_harness.h"

namespace aigw::hostile {

using controller::itest::Cluster;

/// A UDP socket bound to `ip` (host order, in 127.0.0.0/8) and an ephemeral port.
class LoopbackSocket {
 public:
  explicit LoopbackSocket(uint32_t ip = INADDR_LOOPBACK) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    EXPECT_GE(fd_, 0) << "socket: " << std::strerror(errno);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(ip);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << "bind: " << std::strerror(errno);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ip_ = ip;
  }
  ~LoopbackSocket() { close(fd_); }
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const {
    in_addr a{htonl(ip_)};
    return inet_ntoa(a);
  }

  /// Sends every datagram to 127.0.0.1:`port`, waiting out a full socket buffer
  /// (bounded: 5 s in all). Returns the bytes sent.
  uint64_t send_all(uint16_t port, const std::vector<std::vector<uint8_t>>& datagrams) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(port);
    uint64_t bytes = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (const auto& d : datagrams) {
      while (sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
        EXPECT_TRUE(errno == EAGAIN || errno == ENOBUFS) << "sendto: " << std::strerror(errno);
        if (std::chrono::steady_clock::now() > end || !(errno == EAGAIN || errno == ENOBUFS)) return bytes;
        pollfd p{fd_, POLLOUT, 0};
        poll(&p, 1, 10);
      }
      bytes += d.size();
    }
    return bytes;
  }
  /// One datagram, waiting at most `timeout_ms`; empty on timeout.
  std::vector<uint8_t> receive(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return {};
    std::vector<uint8_t> buf(65536);
    const ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
    buf.resize(n > 0 ? size_t(n) : 0);
    return buf;
  }
  /// Reads everything queued; the bytes and datagrams it held.
  std::pair<uint64_t, uint64_t> drain() {
    uint64_t bytes = 0, datagrams = 0;
    uint8_t buf[65536];
    for (ssize_t n; (n = recv(fd_, buf, sizeof buf, 0)) >= 0;) {
      bytes += uint64_t(n);
      ++datagrams;
    }
    return {bytes, datagrams};
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  uint32_t ip_ = 0;
};

/// One data datagram: a header encoded as a sender would (CRC included) and
/// `payload_bytes` bytes of `fill`.
inline std::vector<uint8_t> datagram(const DataHeader& h, size_t payload_bytes, uint8_t fill = 0xab) {
  std::vector<uint8_t> d(kDataHeaderSize + payload_bytes, fill);
  encode_data_header(h, d.data());
  return d;
}
/// Rewrites the header CRC after a test changed header bytes on purpose.
inline void reseal_header(std::vector<uint8_t>& d) {
  const uint32_t crc = crc32c(d.data(), 28);
  d[28] = uint8_t(crc >> 24);
  d[29] = uint8_t(crc >> 16);
  d[30] = uint8_t(crc >> 8);
  d[31] = uint8_t(crc);
}
/// A well-formed fragment `index` of a unit of `unit_length` bytes cut into `count`.
inline std::vector<uint8_t> fragment(uint32_t stream, uint32_t seq, uint16_t index, uint16_t count,
                                     uint32_t unit_length, uint8_t fill = 0xab) {
  const UnitGeometry g{unit_length, count};
  DataHeader h;
  h.stream_id = stream;
  h.unit_seq = seq;
  h.fragment_index = index;
  h.fragment_count = count;
  h.unit_length = unit_length;
  h.payload_length = uint16_t(g.payload_length(index));
  h.flags = index + 1 == count ? data_flag::last_fragment : 0;
  return datagram(h, h.payload_length, fill);
}

/// A device that admits one stream by the control protocol and then sends crafted data.
class RawDevice {
 public:
  RawDevice(const Cluster& c, uint32_t device_id, uint32_t control_ip = INADDR_LOOPBACK)
      : cluster_(c), control_(control_ip),
        sealer_(make_sender_id(NodeRole::device, device_id), 1, c.node_key(NodeRole::device, device_id),
                envelope_counter_start()),
        keys_(make_sender_id(NodeRole::device, device_id)), opener_(keys_), device_id_(device_id) {
    keys_.add_own(1, c.node_key(NodeRole::device, device_id));
  }

  /// Asks for a stream of `unit_bytes` per `period_ms`; NACKs go to `nack_to` (the
  /// device's own control socket unless a test names a third address). True when admitted.
  bool admit(uint32_t unit_bytes, uint32_t period_ms, const LoopbackSocket* nack_to = nullptr) {
    const LoopbackSocket& n = nack_to ? *nack_to : control_;
    ctl::AdmissionRequest r;
    r.set_request_id(++requests_);  // a new id each time: the controller caches its answers by id
    r.set_device_id(device_id_);
    r.set_unit_bytes(unit_bytes);
    r.set_period_ms(period_ms);
    r.set_model("openpose");
    r.set_control_address(n.address());
    r.set_control_port(n.port());
    r.set_source_address(data_.address());
    r.set_source_port(data_.port());
    std::vector<uint8_t> sealed;
    sealer_.seal(MessageType::admission_request, r.SerializeAsString(), sealed);
    control_.send_all(cluster_.controller_port(), {sealed});
    for (int i = 0; i < 30; ++i) {
      const auto d = control_.receive(100);
      EnvelopeView v;
      if (d.empty() || opener_.open(d.data(), d.size(), v) != EnvelopeError::ok ||
          v.type != MessageType::admission_reply)
        continue;
      ctl::AdmissionReply reply;
      reply.ParseFromArray(v.body, int(v.body_len));
      if (reply.status() != ctl::ADMISSION_ACCEPTED) return false;
      keys_.learn_pair_key(make_sender_id(NodeRole::gateway, reply.gateway_id()), reply.gateway_key_id(), v.key_id,
                           reply.gateway_key_box());
      stream_ = reply.stream_id();
      gateway_data_port_ = uint16_t(reply.gateway_port());
      first_seq_ = reply.first_unit_seq();
      return true;
    }
    return false;
  }

  uint32_t stream() const { return stream_; }
  uint32_t first_seq() const { return first_seq_; }
  uint16_t gateway_data_port() const { return gateway_data_port_; }
  LoopbackSocket& data() { return data_; }
  LoopbackSocket& control() { return control_; }
  /// Sends crafted datagrams from the admitted source address; bytes sent.
  uint64_t send(const std::vector<std::vector<uint8_t>>& d) { return data_.send_all(gateway_data_port_, d); }

 private:
  const Cluster& cluster_;
  LoopbackSocket data_;
  LoopbackSocket control_;
  EnvelopeSealer sealer_;
  NodeKeys keys_;
  EnvelopeOpener opener_;
  uint32_t device_id_;
  uint32_t stream_ = 0;
  uint32_t first_seq_ = 0;
  uint16_t gateway_data_port_ = 0;
  uint64_t requests_ = 0;
};

}  // namespace aigw::hostile
