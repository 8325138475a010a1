// Loopback plumbing for the socket-backend tests: a gateway node on its own thread, UDP
// sockets, a test GPU server (protocol UnitReceiver), devices sending through a seeded
// impairment shim and a test controller.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <random>
#include <set>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gateway/node/gateway_node.h"
#include "protocol/control.pb.h"
#include "protocol/envelope.h"
#include "protocol/retransmit_request.h"
#include "protocol/udp_socket.h"
#include "protocol/unit_receiver.h"
#include "tests/gateway/test_units.h"

namespace aigw::test {

constexpr uint32_t kLocalhost = 0x7f000001;

struct Udp {
  int fd = -1;
  Ipv4Endpoint ep;
  Udp() {
    std::string err;
    UdpEndpoint bound;
    fd = open_udp_socket(to_udp({kLocalhost, 0}), {.buffer_bytes = 4 << 20}, bound, err);
    EXPECT_GE(fd, 0) << err;
    to_ipv4(bound, ep);
  }
  ~Udp() {
    if (fd >= 0) close(fd);
  }
  Udp(const Udp&) = delete;
  void send_to(const Ipv4Endpoint& to, const uint8_t* d, size_t n) const {
    sockaddr_in sa = to.to_sockaddr();
    sendto(fd, d, n, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  void send_to(const Ipv4Endpoint& to, const std::vector<uint8_t>& d) const { send_to(to, d.data(), d.size()); }
  /// One datagram or -1 when none is waiting.
  ssize_t recv(uint8_t* buf, size_t cap, Ipv4Endpoint* from = nullptr) const {
    sockaddr_in sa{};
    socklen_t sl = sizeof sa;
    ssize_t n = recvfrom(fd, buf, cap, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sa), &sl);
    if (n >= 0 && from) *from = Ipv4Endpoint::from_sockaddr(sa);
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
inline GatewayConfig loopback_config(size_t ports, const Ipv4Endpoint& controller) {
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
      : receiver_(config(), *this), sealer_(gpu_sealer()), rng_(seed), loss_(loss) {}

  void add_stream(uint32_t id) { receiver_.add_stream(id); }
  /// Reads what is waiting and runs timers; returns datagrams read.
  size_t poll(int64_t now) {
    uint8_t buf[2048];
    size_t n = 0;
    Ipv4Endpoint from;
    ssize_t len;
    while ((len = sock.recv(buf, sizeof buf, &from)) >= 0) {
      ++n;
      DataHeader h;
      if (decode_data_header(buf, static_cast<size_t>(len), h) != DecodeError::ok) {
        ++malformed;
        continue;
      }
      reply_to[h.stream_id] = from;
      // First transmissions are lost at random so the gateway's sender role is exercised.
      if (!(h.flags & data_flag::retransmission) && std::uniform_real_distribution<double>(0, 1)(rng_) < loss_) {
        ++dropped;
        continue;
      }
      now_ = now;
      receiver_.on_fragment(h, buf + kDataHeaderSize, now);
    }
    if (now >= receiver_.next_deadline_ns()) receiver_.poll(now);
    return n;
  }

  void on_unit_complete(const CompletedUnit& info, UnitHandle& u) override {
    units[{info.stream_id, info.unit_seq}] = std::vector<uint8_t>(u.data(), u.data() + u.size());
    ctl::UnitAck ack;
    ack.set_stream_id(info.stream_id);
    ack.set_unit_seq(info.unit_seq);
    send(MessageType::unit_ack, ack.SerializeAsString(), info.stream_id);
  }
  void on_unit_lost(const LostUnit& l) override { lost.push_back({l.stream_id, l.unit_seq}); }
  void on_nack(const NackOut& n) override {
    ctl::RetransmitRequest r;
    to_retransmit_request(n, r);
    send(MessageType::retransmit_request, r.SerializeAsString(), n.stream_id);
    ++nacks;
  }

  Udp sock;
  std::map<uint32_t, Ipv4Endpoint> reply_to;  ///< by stream: source of its latest fragment
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
  // Answers go where the stream's fragments came from, as a GPU server's do.
  void send(MessageType t, const std::string& body, uint32_t stream_id) {
    std::vector<uint8_t> env;
    if (sealer_.seal(t, body, env)) sock.send_to(reply_to[stream_id], env);
  }
  UnitReceiver receiver_;
  EnvelopeSealer sealer_;
  std::mt19937_64 rng_;
  double loss_;
  int64_t now_ = 0;
};

/// Per unit, which fragment indices the shim dropped (any transmission).
using DropLog = std::map<std::pair<uint32_t, uint32_t>, std::set<uint16_t>>;

/// The device side of one stream: its UnitSender writes through an impairment shim to
/// the gateway; NACK envelopes arrive on its control socket.
class Device : public PacketOut {
 public:
  Device(uint32_t stream, Ipv4Endpoint gateway, uint64_t seed, DropLog& drops)
      : stream_(stream), gateway_(gateway), sender_(device_config(), *this), rng_(seed), drops_(drops) {
    sender_.add_stream(stream);
  }
  bool send_fragment(uint32_t, const uint8_t* header, const uint8_t* payload, size_t len, uint32_t) override {
    std::vector<uint8_t> d(header, header + kDataHeaderSize);
    d.insert(d.end(), payload, payload + len);
    DataHeader h;
    decode_data_header(d.data(), d.size(), h);
    const double r = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (r < 0.03) {  // loss
      drops_[{h.stream_id, h.unit_seq}].insert(h.fragment_index);
      return true;
    }
    if (r < 0.05) data.send_to(gateway_, d);  // duplicate
    if (r < 0.10 && held_.empty()) {          // reorder: swap with the next fragment
      held_ = std::move(d);
      return true;
    }
    data.send_to(gateway_, d);
    if (!held_.empty()) {
      data.send_to(gateway_, held_);
      held_.clear();
    }
    return true;
  }
  void poll(int64_t now, const KeySource& keys, std::map<std::pair<uint32_t, uint32_t>, std::set<uint16_t>>& nacked) {
    sender_.poll(now, 100000);  // whole units at once: a pause mid-unit would look like loss
    if (!held_.empty()) {
      data.send_to(gateway_, held_);
      held_.clear();
    }
    uint8_t buf[2048];
    ssize_t n;
    while ((n = control.recv(buf, sizeof buf)) >= 0) {
      EnvelopeView v;
      ASSERT_EQ(opener_(keys).open(buf, static_cast<size_t>(n), v), EnvelopeError::ok);
      ASSERT_EQ(v.type, MessageType::retransmit_request);
      EXPECT_EQ(v.sender_id, (1u << 24) | 1u);  // gateway 1, role-tagged
      ctl::RetransmitRequest r;
      ASSERT_TRUE(r.ParseFromArray(v.body, static_cast<int>(v.body_len)));
      std::vector<uint16_t> missing(65535);
      size_t count = 0;
      ASSERT_EQ(decode_nack(static_cast<NackEncoding>(r.encoding()), r.first_fragment(), r.missing_count(),
                            r.fragment_count(), reinterpret_cast<const uint8_t*>(r.missing().data()),
                            r.missing().size(), missing.data(), missing.size(), count),
                NackError::ok);
      for (size_t i = 0; i < count; ++i) nacked[{r.stream_id(), r.unit_seq()}].insert(missing[i]);
      sender_.on_nack(r.stream_id(), r.unit_seq(), r.fragment_count(), static_cast<NackEncoding>(r.encoding()),
                      r.first_fragment(), r.missing_count(), reinterpret_cast<const uint8_t*>(r.missing().data()),
                      r.missing().size(), now);
    }
  }
  void submit(uint32_t seq, const std::vector<uint8_t>& unit, int64_t now) {
    ASSERT_EQ(sender_.submit(stream_, seq, unit.data(), static_cast<uint32_t>(unit.size()), 0, now), SubmitError::ok);
  }

  Udp data;
  Udp control;

 private:
  // Keeps every unit of the test for retransmission: units follow each other faster
  // than a real device's period.
  static SenderConfig device_config() {
    SenderConfig c;
    c.store_units = 16;
    return c;
  }
  EnvelopeOpener& opener_(const KeySource& keys) {
    if (!opener_storage_) opener_storage_ = std::make_unique<EnvelopeOpener>(keys);
    return *opener_storage_;
  }
  uint32_t stream_;
  Ipv4Endpoint gateway_;
  UnitSender sender_;
  std::mt19937_64 rng_;
  DropLog& drops_;
  std::vector<uint8_t> held_;
  std::unique_ptr<EnvelopeOpener> opener_storage_;
};

/// The test's controller: receives the gateway's syncs, sends it StreamAssigns.
struct Controller {
  Udp sock;
  test::GatewayPeerKeys keys;
  EnvelopeOpener opener{keys};
  EnvelopeSealer sealer = test::controller_sealer();
  Ipv4Endpoint gateway_control;
  size_t load_syncs = 0, registers = 0;
  ctl::LoadSync last_load;
  std::map<uint32_t, ctl::StreamEntry> streams;  // from the latest StreamSyncs

  void poll() {
    uint8_t buf[65536];
    ssize_t n;
    Ipv4Endpoint from;
    while ((n = sock.recv(buf, sizeof buf, &from)) >= 0) {
      EnvelopeView v;
      ASSERT_EQ(opener.open(buf, static_cast<size_t>(n), v), EnvelopeError::ok);
      EXPECT_LE(static_cast<size_t>(n), 1400u);
      gateway_control = from;
      if (v.type == MessageType::load_sync) {
        ASSERT_TRUE(last_load.ParseFromArray(v.body, static_cast<int>(v.body_len)));
        ++load_syncs;
      } else if (v.type == MessageType::stream_sync) {
        ctl::StreamSync s;
        ASSERT_TRUE(s.ParseFromArray(v.body, static_cast<int>(v.body_len)));
        for (const auto& e : s.streams()) streams[e.stream_id()] = e;
      } else if (v.type == MessageType::gateway_register) {
        ++registers;
      }
    }
  }
  void assign(uint32_t stream, uint16_t port, const Ipv4Endpoint& source, const Ipv4Endpoint& device_ctl,
              const Ipv4Endpoint& gpu) {
    ctl::StreamAssign a;
    ctl::StreamEntry* e = a.mutable_stream();
    e->set_stream_id(stream);
    e->set_data_port(port);
    e->set_source_address(ipv4_to_string(source.ip));
    e->set_source_port(source.port);
    e->set_device_control_address(ipv4_to_string(device_ctl.ip));
    e->set_device_control_port(device_ctl.port);
    e->set_gpu_id(1);
    e->set_device_id(test::kTestDeviceId);
    a.set_gpu_address(ipv4_to_string(gpu.ip));
    a.set_gpu_port(gpu.port);
    std::vector<uint8_t> env;
    ASSERT_TRUE(sealer.seal(MessageType::stream_assign, a.SerializeAsString(), env));
    sock.send_to(gateway_control, env);
  }
};

}  // namespace aigw::test
