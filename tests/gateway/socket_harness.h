// Loopback plumbing for the socket-backend tests: a gateway node on its own thread, UDP
// sockets, a test GPU server (protocol UnitReceiver) and a test controller endpoint.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gateway/gateway_node.h"
#include "gateway/udp_socket.h"
#include "protocol/control.pb.h"
#include "protocol/envelope.h"
#include "protocol/retransmit_request.h"
#include "protocol/unit_receiver.h"
#include "tests/gateway/test_units.h"

namespace aigw::test {

constexpr uint32_t kLocalhost = 0x7f000001;

struct Udp {
  int fd = -1;
  Endpoint ep;
  Udp() {
    std::string err;
    fd = open_udp_socket(Endpoint{kLocalhost, 0}, UdpSocketOptions{4 << 20, false}, ep, err);
    EXPECT_GE(fd, 0) << err;
  }
  ~Udp() {
    if (fd >= 0) close(fd);
  }
  Udp(const Udp&) = delete;
  void send_to(const Endpoint& to, const uint8_t* d, size_t n) const {
    sockaddr_in sa = to.to_sockaddr();
    sendto(fd, d, n, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  void send_to(const Endpoint& to, const std::vector<uint8_t>& d) const { send_to(to, d.data(), d.size()); }
  /// One datagram or -1 when none is waiting.
  ssize_t recv(uint8_t* buf, size_t cap, Endpoint* from = nullptr) const {
    sockaddr_in sa{};
    socklen_t sl = sizeof sa;
    ssize_t n = recvfrom(fd, buf, cap, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sa), &sl);
    if (n >= 0 && from) *from = Endpoint::from_sockaddr(sa);
    return n;
  }
};

/// A gateway node running its loop on a thread.
struct NodeThread {
  std::unique_ptr<GatewayNode> node;
  std::thread thread;
  explicit NodeThread(const GatewayConfig& c) {
    node = std::make_unique<GatewayNode>(c);
    std::string err;
    int code = 0;
    ok = node->start(err, code);
    EXPECT_TRUE(ok) << err;
    if (ok) thread = std::thread([this] { node->run(); });
  }
  ~NodeThread() { stop(); }
  void stop() {
    if (thread.joinable()) {
      node->request_stop();
      thread.join();
    }
  }
  uint64_t port_stat(size_t port, PortStat s) { return node->data_plane().port_stats(port).get(static_cast<size_t>(s)); }
  uint64_t egress_stat(EgressStat s) { return node->data_plane().egress_stats(0).get(static_cast<size_t>(s)); }
  std::string metrics() {
    std::string out;
    node->render_metrics(out);
    return out;
  }
  bool ok = false;
};

/// A gateway config on loopback with `ports` data ports (kernel-chosen numbers).
inline GatewayConfig loopback_config(size_t ports, const Endpoint& controller) {
  GatewayConfig c;
  c.key_id = kTestKeyId;
  c.key = test_key();
  c.have_key = true;
  c.control_bind = {kLocalhost, 0};
  c.controller = controller;
  c.egress_bind = {kLocalhost, 0};
  c.metrics_bind = {kLocalhost, 0};
  c.sync_period_ns = 100'000'000;
  c.receiver.reorder_tolerance_ns = 20'000'000;
  // Generous against scheduling pauses on a loaded machine: a NACK must only ever name
  // fragments that were really lost.
  c.receiver.idle_nack_ns = 150'000'000;
  c.receiver.renack_interval_ns = 60'000'000;
  c.receiver.max_nack_rounds = 20;
  c.socket_buffer_bytes = 8 << 20;
  c.egress.store_units = 16;  // tests send units far faster than one per period
  for (size_t i = 0; i < ports; ++i) {
    PortConfig p;
    p.memory_budget_bytes = size_t{64} << 20;
    c.ports.push_back(p);
  }
  return c;
}

/// A GPU server: receives egress fragments, reassembles, verifies, acks and NACKs
/// through authenticated envelopes sent back to the fragments' source address.
class GpuSink : public ReceiverEvents {
 public:
  explicit GpuSink(double loss, uint64_t seed)
      : receiver_(config(), *this), sealer_((3u << 24) | 1, kTestKeyId, test_key(), 1), rng_(seed), loss_(loss) {}

  void add_stream(uint32_t id) { receiver_.add_stream(id); }
  /// Reads what is waiting and runs timers; returns datagrams read.
  size_t poll(int64_t now) {
    uint8_t buf[2048];
    size_t n = 0;
    Endpoint from;
    ssize_t len;
    while ((len = sock.recv(buf, sizeof buf, &from)) >= 0) {
      ++n;
      gateway_egress = from;
      DataHeader h;
      if (decode_data_header(buf, static_cast<size_t>(len), h) != DecodeError::ok) {
        ++malformed;
        continue;
      }
      // First transmissions are lost at random so the gateway's sender role is exercised.
      if (!(h.flags & data_flag::retransmission) && std::uniform_real_distribution<double>(0, 1)(rng_) < loss_) {
        ++dropped;
        continue;
      }
      now_ = now;
      receiver_.on_fragment(h, buf + kDataHeaderSize, now);
    }
    if (now >= receiver_.next_timer_ns()) receiver_.on_timer(now);
    return n;
  }

  void on_unit_complete(const CompletedUnit& info, UnitHandle& u) override {
    units[{info.stream_id, info.unit_seq}] = std::vector<uint8_t>(u.data(), u.data() + u.size());
    ctl::UnitAck ack;
    ack.set_stream_id(info.stream_id);
    ack.set_unit_seq(info.unit_seq);
    send(MessageType::unit_ack, ack.SerializeAsString());
  }
  void on_unit_lost(const LostUnit& l) override { lost.push_back({l.stream_id, l.unit_seq}); }
  void on_nack(const NackOut& n) override {
    ctl::RetransmitRequest r;
    to_retransmit_request(n, r);
    send(MessageType::retransmit_request, r.SerializeAsString());
    ++nacks;
  }

  Udp sock;
  Endpoint gateway_egress;
  std::map<std::pair<uint32_t, uint32_t>, std::vector<uint8_t>> units;
  std::vector<std::pair<uint32_t, uint32_t>> lost;
  size_t dropped = 0, malformed = 0, nacks = 0;

 private:
  static ReceiverConfig config() {
    ReceiverConfig c;
    c.reorder_tolerance_ns = 20'000'000;
    c.idle_nack_ns = 30'000'000;
    c.renack_interval_ns = 40'000'000;
    c.max_nack_rounds = 20;
    return c;
  }
  void send(MessageType t, const std::string& body) {
    std::vector<uint8_t> env;
    if (sealer_.seal(t, body, env)) sock.send_to(gateway_egress, env);
  }
  UnitReceiver receiver_;
  EnvelopeSealer sealer_;
  std::mt19937_64 rng_;
  double loss_;
  int64_t now_ = 0;
};

}  // namespace aigw::test
