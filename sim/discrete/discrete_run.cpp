#include "sim/discrete/discrete_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>

#include <fmt/format.h>
#include <sodium.h>

#include "controller/core/controller.h"
#include "protocol/control.pb.h"
#include "protocol/log.h"
#include "sim/discrete/loss_model.h"
#include "protocol/node_keys.h"
#include "sim/scenario/unit_size.h"

namespace aigw::sim {

namespace {

using Endpoint = UdpEndpoint;
constexpr size_t kStreamsPerSync = 16;  // keeps each StreamSync part under ~1400 bytes

Endpoint endpoint(const std::string& host, uint16_t port) {
  Endpoint e;
  make_endpoint(host, port, e);
  return e;
}

class Sim;

/// A simulated node: reads the controller's sealed messages like the real one.
class Node {
 public:
  virtual ~Node() = default;
  virtual uint32_t sender_id() const = 0;
  virtual void on_control(MessageType type, const uint8_t* body, size_t len) = 0;
};

/// What the controller sent to one simulated node opens under that node's key.
class RecipientKeys final : public KeySource {
 public:
  ControlKey master{};
  uint32_t recipient = 0;
  KeyLookup key_for(uint32_t, uint32_t, ControlKey& out) const override {
    out = derive_node_key(master, recipient);
    return KeyLookup::found;
  }
};

struct SimStream {
  uint32_t stream_id = 0;
  uint32_t device = 0;     // index into devices
  uint32_t port = 0;
  uint32_t gpu_id = 0;
  uint32_t from_seq = 0;   // units before it belong to the previous gateway
};

class Sim final : public controller::Transport {
 public:
  Sim(const Scenario& s, const DiscreteOptions& o);
  std::string run(RunReport& report);

  // Transport: the controller's datagrams, delivered after the control latency.
  bool send(const Endpoint& to, const std::vector<uint8_t>& datagram) override;
  void to_controller(const Endpoint& from, EnvelopeSealer& sealer, MessageType t, const google::protobuf::MessageLite& m);
  bool open(const std::vector<uint8_t>& d, uint32_t recipient, EnvelopeView& v) {
    keys_.recipient = recipient;
    return opener_.open(d.data(), d.size(), v) == EnvelopeError::ok;
  }
  /// A simulated node's key, as the controller derives it.
  ControlKey node_key(uint32_t sender_id) const { return derive_node_key(key, sender_id); }
  void at(int64_t t, std::function<void()> fn) { events_.push({t, seq_++, std::move(fn)}); }
  int64_t now() const { return now_; }

  const Scenario& s;
  const DiscreteOptions& opt;
  ControlKey key{};
  std::unique_ptr<controller::Controller> ctl;
  std::map<std::string, Node*> nodes;
  struct GatewayNode* gateway(uint32_t id);
  std::vector<std::unique_ptr<struct GatewayNode>> gateways;
  std::vector<std::unique_ptr<struct DeviceNode>> devices;
  std::vector<std::unique_ptr<struct GpuNodeSim>> gpus;
  uint64_t undeliverable = 0;
  double link_loss = 0;  ///< the scenario's [impairment] on every fragment
  std::vector<double> admission_ms;

 private:
  void start_controller();
  void create_nodes();
  void schedule(RunReport& report);
  void end_period(uint32_t p, RunReport& report);
  std::map<uint32_t, uint32_t> send_units(uint32_t p, RunReport& report);
  void sample(uint32_t p, RunReport& report);
  void run_events(RunReport& report);
  void account(RunReport& report);
  // Periods of the run: two of warm-up, then the scenario's.
  uint32_t total_periods() const { return s.duration_periods + 2; }

  struct Event {
    int64_t t;
    uint64_t seq;
    std::function<void()> fn;
    bool operator<(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };
  RecipientKeys keys_;
  EnvelopeOpener opener_;
  std::priority_queue<Event> events_;
  uint64_t seq_ = 0;
  int64_t now_ = 0;
  std::string body_;
  std::set<uint32_t> failed_;  // gateways killed by the scenario
};

struct DeviceNode final : Node {
  Sim& sim;
  uint32_t index, device_id;
  const StreamGroup& group;
  UnitSizeSampler sizes;
  Endpoint control;
  EnvelopeSealer sealer;
  int64_t start_ns = 0, stop_ns = 0, requested_ns = 0;
  uint32_t stream_id = 0, gateway_id = 0, next_seq = 0, migrations = 0;
  std::string rejected;
  bool closed = false;
  uint64_t units_sent = 0;

  DeviceNode(Sim& s, uint32_t i, const StreamGroup& g)
      : sim(s), index(i), device_id(100000 + i), group(g), sizes(g, mix_seed(s.s.seed, i)),
        control{endpoint(fmt::format("10.2.{}.{}", (i >> 8) & 255, i & 255), uint16_t(1000 + (i >> 16)))},
        sealer(make_sender_id(NodeRole::device, device_id), 1, s.node_key(make_sender_id(NodeRole::device, device_id)), 1) {}
  uint32_t sender_id() const override { return sealer.sender_id(); }

  void request() {
    ctl::AdmissionRequest r;
    r.set_request_id(1);
    r.set_device_id(device_id);
    double largest = 0;
    for (const auto& ph : group.unit_size) largest = std::max(largest, ph.mean_bytes);
    r.set_unit_bytes(uint32_t(largest * sizes.stream_factor()));
    r.set_period_ms(group.period_ms ? group.period_ms : sim.s.period_ms);
    r.set_model(group.model);
    r.set_control_address(control.host());
    r.set_control_port(control.port());
    r.set_source_address(control.host());
    r.set_source_port(control.port() + 1);
    requested_ns = sim.now();
    sim.to_controller(control, sealer, MessageType::admission_request, r);
  }

  void on_control(MessageType type, const uint8_t* body, size_t len) override {
    if (type == MessageType::admission_reply) {
      ctl::AdmissionReply r;
      if (!r.ParseFromArray(body, int(len)) || stream_id) return;
      if (r.status() != ctl::ADMISSION_ACCEPTED) {
        rejected = r.reason().empty() ? "rejected" : r.reason();
        return;
      }
      stream_id = r.stream_id();
      gateway_id = r.gateway_id();
      next_seq = r.first_unit_seq();
      sim.admission_ms.push_back(double(sim.now() - requested_ns) / 1e6);
    } else if (type == MessageType::migrate_command) {
      ctl::MigrateCommand m;
      if (!m.ParseFromArray(body, int(len)) || m.phase() != ctl::MIGRATE_SWITCH) return;
      // Switch at the next unit boundary; the ack names the actual unit.
      const uint32_t actual = std::max(next_seq, m.switch_unit_seq());
      if (gateway_id != m.target_gateway_id()) ++migrations;
      gateway_id = m.target_gateway_id();
      ctl::MigrateAck a;
      a.set_migration_id(m.migration_id());
      a.set_phase(ctl::MIGRATE_SWITCH);
      a.set_stream_id(m.stream_id());
      a.set_switch_unit_seq(actual);
      sim.to_controller(control, sealer, MessageType::migrate_ack, a);
    } else if (type == MessageType::stream_close) {
      closed = true;
    }
  }
};

struct GatewayNode final : Node {
  Sim& sim;
  const GatewaySpec& spec;
  Endpoint control;
  EnvelopeSealer sealer;
  std::map<uint32_t, SimStream> streams;
  bool dead = false;
  uint64_t period_seq = 0;
  // This period's offered traffic per port, and cumulative fragment accounting.
  std::vector<double> bytes, fragments;
  std::vector<uint64_t> units;
  uint64_t frag_expected = 0, frag_missing = 0, units_lost = 0;
  std::mt19937_64 rng;  // this gateway's loss draws, seeded from the scenario

  GatewayNode(Sim& s, const GatewaySpec& g)
      : sim(s), spec(g), control{endpoint(fmt::format("10.1.{}.{}", g.id >> 8, g.id & 255), 7201)},
        sealer(make_sender_id(NodeRole::gateway, g.id), 1, s.node_key(make_sender_id(NodeRole::gateway, g.id)), 1), bytes(g.ports), fragments(g.ports), units(g.ports),
        rng(mix_seed(s.s.seed ^ 0x1055, g.id)) {}
  uint32_t sender_id() const override { return sealer.sender_id(); }

  std::string port_address(uint32_t p) const { return fmt::format("10.3.{}.{}", spec.id & 255, p); }

  void ack(const ctl::MigrateCommand& m) {
    ctl::MigrateAck a;
    a.set_migration_id(m.migration_id());
    a.set_phase(m.phase());
    a.set_stream_id(m.stream_id());
    a.set_switch_unit_seq(m.switch_unit_seq());
    sim.to_controller(control, sealer, MessageType::migrate_ack, a);
  }

  uint32_t port_of(uint32_t data_port) const { return data_port >= 7000 && data_port < 7000 + spec.ports ? data_port - 7000 : 0; }

  void install(const ctl::StreamEntry& e, uint32_t from_seq) {
    SimStream st;
    st.stream_id = e.stream_id();
    st.port = port_of(e.data_port());
    st.gpu_id = e.gpu_id();
    st.from_seq = from_seq;
    streams[e.stream_id()] = st;
  }

  void on_control(MessageType type, const uint8_t* body, size_t len) override {
    if (dead) return;
    if (type == MessageType::stream_assign) {
      ctl::StreamAssign a;
      if (!a.ParseFromArray(body, int(len))) return;
      if (a.remove()) streams.erase(a.stream().stream_id());
      else install(a.stream(), a.from_unit_seq());
    } else if (type == MessageType::migrate_command) {
      ctl::MigrateCommand m;
      if (!m.ParseFromArray(body, int(len))) return;
      if (m.phase() == ctl::MIGRATE_EXPECT) install(m.stream(), m.switch_unit_seq());
      if (m.phase() == ctl::MIGRATE_RELEASE) streams.erase(m.stream_id());
      ack(m);
    } else if (type == MessageType::steer_command) {
      ctl::SteerCommand c;
      if (c.ParseFromArray(body, int(len))) {
        auto it = streams.find(c.stream_id());
        if (it != streams.end()) it->second.gpu_id = c.gpu_id();
      }
    }
  }

  // One unit of a stream arrives this period.
  void unit(uint32_t port, uint32_t bytes_in, uint32_t payload) {
    const double frags = std::ceil(double(bytes_in + 4) / payload);
    bytes[port] += bytes_in;
    fragments[port] += frags;
    ++units[port];
  }

  uint64_t draw(uint64_t n, double p) {
    if (n == 0 || p <= 0) return 0;
    if (p >= 1) return n;
    return std::binomial_distribution<uint64_t>(n, p)(rng);
  }

  // End of period: loss model, then LoadSync and StreamSync as the real agent sends.
  void report(const std::map<uint32_t, uint32_t>& last_seq) {
    if (dead) return;
    const double period_s = sim.s.period_ms / 1000.0;
    double frag_total = 0;
    for (uint32_t p = 0; p < spec.ports; ++p) frag_total += fragments[p];
    const double cpu_first = frag_total / period_s / spec.cpu_fragments_per_s;
    std::vector<uint64_t> missing(spec.ports);
    const double resent_total = draw_losses(period_s, cpu_first, missing);
    const double cpu = (frag_total + resent_total) / period_s / spec.cpu_fragments_per_s;
    const ctl::LoadSync ls = load_sync(period_s, cpu, missing);
    frag_expected += uint64_t(frag_total);
    frag_missing += uint64_t(resent_total);
    sim.to_controller(control, sealer, MessageType::load_sync, ls);
    send_stream_sync(last_seq);
    std::fill(bytes.begin(), bytes.end(), 0);
    std::fill(fragments.begin(), fragments.end(), 0);
    std::fill(units.begin(), units.end(), 0);
  }

  // Fragments missing at first transmission are drawn per port from the loss model at
  // the port's utilisation; their retransmissions load the port's line and core too.
  // Fills `missing` per port, counts the units lost; returns the fragments resent.
  double draw_losses(double period_s, double cpu_first, std::vector<uint64_t>& missing) {
    PortLossParams lp;
    lp.base_loss = 1 - (1 - spec.base_loss) * (1 - sim.link_loss);
    lp.overload_knee = spec.overload_knee;
    lp.overload_loss = spec.overload_loss;
    lp.queue_packets = sim.opt.queue_packets;
    double resent_total = 0;
    for (uint32_t p = 0; p < spec.ports; ++p) {
      // The busier of the port's line and the data-plane core decides the loss.
      const double rho = std::max(bytes[p] * 8 / period_s / spec.port_capacity_bps, cpu_first);
      const double loss = port_loss(lp, rho);
      missing[p] = draw(uint64_t(fragments[p]), loss);
      resent_total += double(missing[p]);
      // A unit is lost when one of its fragments stays missing through every NACK
      // round (11 transmissions).
      if (units[p]) {
        const double per_unit = 1 - std::pow(1 - std::pow(loss, 11), fragments[p] / double(units[p]));
        units_lost += draw(units[p], per_unit);
      }
    }
    return resent_total;
  }

  ctl::LoadSync load_sync(double period_s, double cpu, const std::vector<uint64_t>& missing) {
    ctl::LoadSync ls;
    ls.set_gateway_id(spec.id);
    ls.set_period_seq(++period_seq);
    ls.set_period_ms(sim.s.period_ms);
    ls.set_cpu_busy(std::min(1.0, cpu));
    ls.set_memory_capacity_bytes(spec.memory_bytes);
    ls.set_control_address(control.host());
    ls.set_control_port(control.port());
    for (uint32_t p = 0; p < spec.ports; ++p) {
      const double resent_bytes = fragments[p] > 0 ? double(missing[p]) * bytes[p] / fragments[p] : 0;
      auto* pl = ls.add_ports();
      pl->set_address(port_address(p));
      pl->set_port(7000 + p);
      pl->set_bandwidth_bps((bytes[p] + resent_bytes) * 8 / period_s);
      pl->set_bandwidth_capacity_bps(spec.port_capacity_bps);
      pl->set_memory_bytes(bytes[p] * sim.opt.residency);
      pl->set_memory_capacity_bytes(spec.memory_bytes / spec.ports);
      pl->set_cpu_busy(std::min(1.0, cpu));
      uint32_t n = 0;
      for (const auto& [id, st] : streams) n += st.port == p;
      pl->set_stream_count(n);
      pl->set_fragments_received(uint64_t(fragments[p]) + missing[p]);
    }
    return ls;
  }

  // The gateway's streams, kStreamsPerSync per part.
  void send_stream_sync(const std::map<uint32_t, uint32_t>& last_seq) {
    std::vector<const SimStream*> list;
    for (const auto& [id, st] : streams) list.push_back(&st);
    const uint32_t parts = uint32_t(std::max<size_t>(1, (list.size() + kStreamsPerSync - 1) / kStreamsPerSync));
    for (uint32_t part = 0; part < parts; ++part) {
      ctl::StreamSync ss;
      ss.set_gateway_id(spec.id);
      ss.set_period_seq(period_seq);
      ss.set_part(part);
      ss.set_part_count(parts);
      for (size_t i = part * kStreamsPerSync; i < std::min(list.size(), (part + 1) * kStreamsPerSync); ++i) {
        auto* e = ss.add_streams();
        e->set_stream_id(list[i]->stream_id);
        e->set_data_port(7000 + list[i]->port);
        e->set_gpu_id(list[i]->gpu_id);
        auto it = last_seq.find(list[i]->stream_id);
        e->set_last_unit_seq(it == last_seq.end() ? 0 : it->second);
      }
      sim.to_controller(control, sealer, MessageType::stream_sync, ss);
    }
  }
};

struct GpuNodeSim final : Node {
  Sim& sim;
  const GpuSpec& spec;
  Endpoint control;
  EnvelopeSealer sealer;
  uint64_t period_seq = 0, units = 0, verified = 0;

  GpuNodeSim(Sim& s, const GpuSpec& g)
      : sim(s), spec(g), control{endpoint(fmt::format("10.4.0.{}", g.id & 255), 7400)}, sealer(make_sender_id(NodeRole::gpu, g.id), 1, s.node_key(make_sender_id(NodeRole::gpu, g.id)), 1) {}
  uint32_t sender_id() const override { return sealer.sender_id(); }
  void on_control(MessageType, const uint8_t*, size_t) override {}
  void announce(bool leaving) {
    ctl::GpuRegister r;
    r.set_gpu_id(spec.id);
    r.set_address(control.host());
    r.set_port(7500);
    for (const auto& m : spec.models) r.add_models(m);
    r.set_capacity_units_per_s(spec.capacity_units_per_s);
    r.set_control_address(control.host());
    r.set_control_port(control.port());
    r.set_leaving(leaving);
    sim.to_controller(control, sealer, MessageType::gpu_register, r);
  }
  void report() {
    ctl::GpuLoadSync l;
    l.set_gpu_id(spec.id);
    l.set_period_seq(++period_seq);
    l.set_load(std::min(1.0, units / (spec.capacity_units_per_s * sim.s.period_ms / 1000.0)));
    verified += units;
    l.set_units_verified(verified);
    sim.to_controller(control, sealer, MessageType::gpu_load_sync, l);
    if (period_seq % 10 == 0) announce(false);
    units = 0;
  }
};

Sim::Sim(const Scenario& sc, const DiscreteOptions& o) : s(sc), opt(o), opener_(keys_) {
  if (s.impaired) link_loss = std::min(1.0, s.impairment.loss + s.impairment.burst.stationary_loss());
  randombytes_buf(key.data(), key.size());
  keys_.master = key;
}

GatewayNode* Sim::gateway(uint32_t id) {
  return id >= 1 && id <= gateways.size() ? gateways[id - 1].get() : nullptr;
}


bool Sim::send(const Endpoint& to, const std::vector<uint8_t>& datagram) {
  auto it = nodes.find(to.to_string());
  if (it == nodes.end()) {
    ++undeliverable;
    return true;
  }
  Node* n = it->second;
  at(now_ + opt.control_latency_ns, [this, n, d = datagram] {
    EnvelopeView v;
    if (open(d, n->sender_id(), v)) n->on_control(v.type, v.body, v.body_len);
  });
  return true;
}

void Sim::to_controller(const Endpoint& from, EnvelopeSealer& sealer, MessageType t, const google::protobuf::MessageLite& m) {
  m.SerializeToString(&body_);
  std::vector<uint8_t> d;
  if (!sealer.seal(t, body_, d)) return;
  at(now_ + opt.control_latency_ns, [this, from, d = std::move(d)] { ctl->on_datagram(d.data(), d.size(), from, now_); });
}

std::string Sim::run(RunReport& report) {
  start_controller();
  create_nodes();
  schedule(report);
  run_events(report);
  account(report);
  return {};
}

// The real controller core, keyed with this run's master key and without its HTTP API.
void Sim::start_controller() {
  controller::ControllerConfig cfg = s.controller;
  cfg.keys = {controller::KeyConfig{1, "", {}}};
  cfg.keys[0].hex.clear();
  for (uint8_t b : key) cfg.keys[0].hex += fmt::format("{:02x}", b);
  cfg.http_listen.clear();
  ctl = std::make_unique<controller::Controller>(cfg, *this, 0, 1);
}

void Sim::create_nodes() {
  for (const auto& g : s.gateways) gateways.push_back(std::make_unique<GatewayNode>(*this, g));
  for (const auto& g : s.gpus) gpus.push_back(std::make_unique<GpuNodeSim>(*this, g));
  uint32_t index = 0;
  const int64_t period_ns = int64_t{s.period_ms} * 1'000'000;
  for (const auto& g : s.streams)
    for (uint32_t k = 0; k < g.count; ++k, ++index) {
      auto d = std::make_unique<DeviceNode>(*this, index, g);
      const double spread = g.start_spread_periods ? double(k) / g.count * g.start_spread_periods : 0;
      // The first period lets gateways and GPU servers register (the controller's warm-up).
      d->start_ns = int64_t((2 + g.start_period + spread) * double(period_ns)) + int64_t(mix_seed(s.seed, index) % 1000) * 1000;
      d->stop_ns = int64_t{2 + (g.stop_period ? g.stop_period : s.duration_periods)} * period_ns;
      devices.push_back(std::move(d));
    }
  for (auto& g : gateways) nodes[g->control.to_string()] = g.get();
  for (auto& g : gpus) nodes[g->control.to_string()] = g.get();
  for (auto& d : devices) nodes[d->control.to_string()] = d.get();
}

// GPU servers register, devices ask for admission at their start times, and every
// period ends with its units and the nodes' reports.
void Sim::schedule(RunReport& report) {
  for (auto& g : gpus) at(1'000'000, [&g] { g->announce(false); });
  for (auto& d : devices) at(d->start_ns, [dp = d.get()] { dp->request(); });
  const int64_t period_ns = int64_t{s.period_ms} * 1'000'000;
  for (uint32_t p = 1; p <= total_periods() + 3; ++p) at(p * period_ns, [this, p, &report] { end_period(p, report); });
}

void Sim::end_period(uint32_t p, RunReport& report) {
  const auto last_seq = send_units(p, report);
  for (const auto& f : s.failures)
    if (f.at_period + 2 == p && gateway(f.gateway_id)) {
      gateway(f.gateway_id)->dead = true;
      failed_.insert(f.gateway_id);
      ++report.gateway_failures;
    }
  for (auto& g : gateways) g->report(last_seq);
  for (auto& g : gpus) g->report();
  if (p <= 2 || p > total_periods()) return;
  sample(p, report);
}

// Units of this period, to each stream's gateway; the last unit sequence per stream.
std::map<uint32_t, uint32_t> Sim::send_units(uint32_t p, RunReport& report) {
  std::map<uint32_t, uint32_t> last_seq;
  for (auto& d : devices) {
    if (!d->stream_id || d->closed || now_ >= d->stop_ns) continue;
    const uint32_t seq = d->next_seq++;
    ++d->units_sent;
    GatewayNode* g = gateway(d->gateway_id);
    const uint32_t bytes_in = d->sizes.next(p);
    if (!g || g->dead) {
      report.lost_by_reason["gateway_failed"] += 1;
      ++report.units_lost;
      continue;
    }
    auto it = g->streams.find(d->stream_id);
    g->unit(it == g->streams.end() ? 0 : it->second.port, bytes_in, d->group.fragment_payload);
    last_seq[d->stream_id] = seq;
    if (!gpus.empty()) gpus[d->stream_id % gpus.size()]->units++;
  }
  return last_seq;
}

// One sample per gateway and one of the cluster, as the controller sees them.
void Sim::sample(uint32_t p, RunReport& report) {
  const double t = (p - 2) * s.period_ms / 1000.0;
  for (const auto& j : ctl->gateways_json()) {
    GatewaySample gs;
    gs.t_s = t;
    gs.gateway_id = j.value("id", 0u);
    gs.alive = j.value("alive", false) && !failed_.count(gs.gateway_id);
    gs.load = j.value("load", 0.0);
    gs.predicted = j.value("forecast", 0.0);
    gs.cpu = j.value("cpu", 0.0);
    gs.memory = j.value("memory", 0.0);
    gs.net = j.value("net", 0.0);
    gs.streams = j.value("streams", 0u);
    if (GatewayNode* g = gateway(gs.gateway_id)) {
      gs.fragments_expected = g->frag_expected;
      gs.fragments_missing = g->frag_missing;
    }
    report.gateway_series.push_back(gs);
  }
  ClusterSample cs;
  cs.t_s = t;
  const auto st = ctl->status_json(now_);
  cs.lsd = st.value("lsd", 0.0);
  cs.streams_active = st.value("streams", 0u);
  uint64_t moves = 0;
  for (auto& d : devices) moves += d->migrations;
  cs.migrations = moves;
  report.cluster_series.push_back(cs);
}

// The event loop: simulated time jumps from event to event; the controller ticks at
// its own deadlines.
void Sim::run_events(RunReport& report) {
  uint64_t events = 0, ticks = 0;
  while (!events_.empty()) {
    const int64_t next_event = events_.top().t;
    const int64_t tick = ctl->next_deadline_ns();
    if (tick <= next_event) {
      now_ = std::max(now_, tick);
      ctl->poll(now_);
      ++ticks;
      continue;
    }
    Event e = events_.top();
    events_.pop();
    now_ = e.t;
    e.fn();
    ++events;
  }
  report.extra["events"] = events;
  report.extra["controller_ticks"] = ticks;
}

void Sim::account(RunReport& report) {
  for (auto& d : devices) {
    ++report.streams_requested;
    if (d->stream_id) ++report.streams_admitted;
    else if (!d->rejected.empty()) ++report.lost_by_reason["admission:" + d->rejected], ++report.streams_rejected;
    report.units_sent += d->units_sent;
    report.migrations += d->migrations;
  }
  uint64_t modelled_lost = 0;
  for (auto& g : gateways) {
    GatewaySummary gsum;
    gsum.id = g->spec.id;
    gsum.fragments_expected = g->frag_expected;
    gsum.fragments_missing = g->frag_missing;
    gsum.units_lost = g->units_lost;
    gsum.failed = failed_.count(g->spec.id) > 0;
    gsum.streams_final = uint32_t(g->streams.size());
    modelled_lost += g->units_lost;
    report.fragments_expected += gsum.fragments_expected;
    report.fragments_missing += gsum.fragments_missing;
    uint32_t n = 0;
    for (const auto& smp : report.gateway_series)
      if (smp.gateway_id == gsum.id && smp.alive) {
        gsum.mean_load += smp.load;
        gsum.max_load = std::max(gsum.max_load, smp.load);
        gsum.streams_peak = std::max(gsum.streams_peak, smp.streams);
        ++n;
      }
    if (n) gsum.mean_load /= n;
    report.gateways.push_back(gsum);
  }
  if (modelled_lost) report.lost_by_reason["modelled:fragment_loss"] += modelled_lost;
  report.units_lost += modelled_lost;
  report.fragments_retransmitted = report.fragments_missing;
  report.units_delivered = report.units_sent - std::min(report.units_sent, report.units_lost);
  report.admission_latency.push_back(latency_stats(s.controller.admission_algorithm, admission_ms));
  report.extra["undeliverable_control"] = undeliverable;
  report.extra["controller_metrics"] = ctl->status_json(now_);
}

}  // namespace

std::string run_discrete(const Scenario& s, const DiscreteOptions& options, RunReport& report) {
  if (sodium_init() < 0) return "libsodium could not be initialised";
  describe_run(s, "discrete", report);
  const auto t0 = std::chrono::steady_clock::now();
  Sim sim(s, options);
  auto e = sim.run(report);
  report.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return e;
}

}  // namespace aigw::sim
