// A gateway for SDK tests on loopback: a data socket whose fragments (after seeded loss,
// retransmissions included) go through the real protocol UnitReceiver, and a bypass
// agent socket that sends the receiver's NACKs as RetransmitRequest envelopes to the
// device's control address, and follows the controller's StreamAssign and
// MigrateCommand EXPECT/RELEASE like the real gateway agent does. Not thread-safe: one
// thread drives it (the tests hold a mutex around it).
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "protocol/control.pb.h"
#include "protocol/log.h"
#include "protocol/retransmit_request.h"
#include "protocol/unit_receiver.h"
#include "tests/edge-sdk/udp_peer.h"

namespace aigw::edge::test {

class LoopbackGateway : public ReceiverEvents {
 public:
  /// `key`: this gateway's node key; NACKs go under the test pair key unless
  /// set_pair_key names the one a real controller gave the device.
  LoopbackGateway(uint32_t id, double loss, uint32_t seed, const ControlKey& key = test_key())
      : id_(id), agent_((1u << 24) | id, 1, key), receiver_(ReceiverConfig(), *this), rng_(seed), drop_(loss) {
    data_fd_ = open_loopback_socket(data_);
  }
  /// The pair key NACKs to the device are sealed with (derive_pair_key of this node key).
  void set_pair_key(uint32_t key_id, const ControlKey& key) {
    pair_key_id_ = key_id;
    pair_key_ = key;
  }
  ~LoopbackGateway() override { close(data_fd_); }

  /// Serves `stream` from `from_seq` on; NACKs go to `device_control`.
  void expect(uint32_t stream, uint32_t from_seq, const UdpEndpoint& device_control) {
    receiver_.add_stream(stream, from_seq);
    device_control_ = device_control;
  }

  /// Reads up to 64 fragments from the data socket.
  void on_data() {
    uint8_t buf[2048];
    for (int i = 0; i < 64; ++i) {
      const ssize_t n = recv(data_fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) return;
      DataHeader h;
      if (decode_data_header(buf, static_cast<size_t>(n), h) != DecodeError::ok) {
        ++bad;
        continue;
      }
      ++fragments;
      if (drop_(rng_)) {
        ++dropped;
        continue;
      }
      receiver_.on_fragment(h, buf + kDataHeaderSize, log::steady_now_ns());
    }
  }

  /// One control message from the controller on the agent socket.
  void on_agent(const UdpEndpoint& controller) {
    Received r;
    if (!agent_.read_one(r)) return;
    if (r.type == MessageType::stream_assign) {
      ctl::StreamAssign a;
      a.ParseFromString(r.body);
      const auto& s = a.stream();
      if (a.remove()) {
        removed.insert(s.stream_id());
        receiver_.close_stream_after(s.stream_id(), a.release_after_unit_seq());
        return;
      }
      UdpEndpoint device;
      make_endpoint(s.device_control_address(), s.device_control_port(), device);
      if (!receiver_.has_stream(s.stream_id())) expect(s.stream_id(), a.from_unit_seq(), device);
      assigned.insert(s.stream_id());
    } else if (r.type == MessageType::migrate_command) {
      ctl::MigrateCommand m;
      m.ParseFromString(r.body);
      if (m.phase() == ctl::MIGRATE_EXPECT) {
        UdpEndpoint device;
        make_endpoint(m.stream().device_control_address(), m.stream().device_control_port(), device);
        if (!receiver_.has_stream(m.stream_id())) expect(m.stream_id(), m.switch_unit_seq(), device);
        expected_at = m.switch_unit_seq();
      } else if (m.phase() == ctl::MIGRATE_RELEASE) {
        receiver_.close_stream_after(m.stream_id(), m.switch_unit_seq() - 1);
        released_at = m.switch_unit_seq();
      }
      ctl::MigrateAck ack;
      ack.set_migration_id(m.migration_id());
      ack.set_phase(m.phase());
      ack.set_stream_id(m.stream_id());
      ack.set_switch_unit_seq(m.switch_unit_seq());
      agent_.send(controller, MessageType::migrate_ack, ack.SerializeAsString());
    }
  }

  /// LoadSync (one data port, ample capacity) and StreamSync, as every sync period.
  void sync(const UdpEndpoint& controller, uint64_t period) {
    ctl::LoadSync l;
    l.set_gateway_id(id_);
    l.set_period_seq(period);
    l.set_period_ms(100);
    l.set_cpu_busy(0.1);
    l.set_memory_capacity_bytes(1e9);
    l.set_control_address("127.0.0.1");
    l.set_control_port(agent_.local().port());
    ctl::PortLoad* p = l.add_ports();
    p->set_address(data_.host());
    p->set_port(data_.port());
    p->set_bandwidth_capacity_bps(1e10);
    p->set_memory_capacity_bytes(1e9);
    agent_.send(controller, MessageType::load_sync, l.SerializeAsString());
    ctl::StreamSync s;
    s.set_gateway_id(id_);
    s.set_period_seq(period);
    for (uint32_t stream : assigned) {
      if (removed.count(stream) != 0) continue;
      ctl::StreamEntry* e = s.add_streams();
      e->set_stream_id(stream);
      e->set_data_port(data_.port());
      e->set_device_control_address(device_control_.host());
      e->set_device_control_port(device_control_.port());
      e->set_gpu_id(1);
    }
    agent_.send(controller, MessageType::stream_sync, s.SerializeAsString());
  }

  void poll() {
    if (receiver_.next_deadline_ns() <= log::steady_now_ns()) receiver_.poll(log::steady_now_ns());
  }

  void on_unit_complete(const CompletedUnit& info, UnitHandle& unit) override {
    complete[info.unit_seq] = std::vector<uint8_t>(unit.data(), unit.data() + unit.size());
    flags[info.unit_seq] = info.flags;
  }
  void on_unit_lost(const LostUnit& info) override { lost.insert(info.unit_seq); }
  void on_nack(const NackOut& n) override {
    ctl::RetransmitRequest r;
    to_retransmit_request(n, r);
    agent_.send_with(device_control_, pair_key_id_, pair_key_, MessageType::retransmit_request, r.SerializeAsString());
    ++nacks;
  }

  uint32_t id() const { return id_; }
  const UdpEndpoint& data() const { return data_; }
  int data_fd() const { return data_fd_; }
  int agent_fd() const { return agent_.fd(); }

  std::map<uint32_t, std::vector<uint8_t>> complete;
  std::map<uint32_t, uint8_t> flags;
  std::set<uint32_t> lost;
  std::set<uint32_t> assigned;
  std::set<uint32_t> removed;
  uint32_t expected_at = UINT32_MAX;  ///< MigrateCommand EXPECT's switch seq
  uint32_t released_at = UINT32_MAX;  ///< MigrateCommand RELEASE's switch seq
  uint64_t fragments = 0, dropped = 0, nacks = 0, bad = 0;

 private:
  uint32_t id_;
  UdpPeer agent_;
  uint32_t pair_key_id_ = kTestPairKeyId;
  ControlKey pair_key_ = test_pair_key();
  UnitReceiver receiver_;
  std::mt19937 rng_;
  std::bernoulli_distribution drop_;
  int data_fd_ = -1;
  UdpEndpoint data_;
  UdpEndpoint device_control_;
};

}  // namespace aigw::edge::test
