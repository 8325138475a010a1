// The controller's table work at scale: 128 gateways, 100,000 streams adopted from
// real StreamSync envelopes. Each benchmark pairs the way the controller works now
// with the way it worked before, measured in the same run on the same tables:
//
// The HTTP and paging benchmarks run first, on exactly 100,000 streams (each window
// admits one).
//
// - StreamsPage/*: GET /api/v1/streams unpaged (the whole table, as it was) against
//   one 1000-stream page (as it is now), and one page filtered by gateway.
// - Window/*: one admission request through a whole decision window (envelope in,
//   decision, StreamAssign and AdmissionReply sealed out). `full_scan` adds what each
//   window used to do on top: recount the committed demand of every port from every
//   stream. `incremental` is the window now (committed demand kept up to date).
// - Http/*: what the HTTP API costs. `every_250ms` renders every document, as the
//   daemon did four times a second whether anyone read them or not, with the
//   per-gateway stream count the gateways document used to scan for; its per-second
//   cost is 4x the time shown. `metrics_scrape` renders one document, which is all
//   a request costs now (and nothing while nobody asks).
//
// CPU time per iteration (thread CPU), because the benchmark machine is shared.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>

#include "controller/core/config.h"
#include "controller/core/controller.h"
#include "controller/core/node_id.h"
#include "protocol/control.pb.h"
#include "protocol/envelope.h"
#include "protocol/node_keys.h"

namespace {

using namespace aigw;
using namespace aigw::controller;

constexpr const char* kKeyHex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
constexpr uint32_t kGateways = 128;
constexpr uint32_t kStreams = 100'000;
constexpr uint32_t kPerPart = 100;  // StreamSync entries per message
constexpr int64_t kMs = 1'000'000;

struct NullTransport : Transport {
  bool send(const UdpEndpoint&, const std::vector<uint8_t>&) override { return true; }
};

UdpEndpoint loopback(uint16_t port) {
  UdpEndpoint e;
  make_endpoint("127.0.0.1", port, e);
  return e;
}

ControlKey key() {
  ControlKey k{};
  KeyRing::parse_hex(kKeyHex, k);
  return k;
}

/// A controller whose tables hold kStreams streams on kGateways gateways.
struct Tables {
  NullTransport net;
  std::unique_ptr<Controller> ctl;
  int64_t now = 1000 * 1000 * kMs;
  std::map<uint32_t, std::unique_ptr<EnvelopeSealer>> sealers;
  uint64_t request_id = 0;

  void deliver(uint32_t sender, MessageType t, const google::protobuf::MessageLite& m, uint16_t port) {
    auto& s = sealers[sender];
    // Each node seals under its own key, derived from the master as provisioned.
    if (!s) s = std::make_unique<EnvelopeSealer>(sender, 1, derive_node_key(key(), sender), 1);
    std::vector<uint8_t> d;
    s->seal(t, m.SerializeAsString(), d);
    ctl->on_datagram(d.data(), d.size(), loopback(port), now);
  }

  Tables() {
    ControllerConfig cfg;
    cfg.keys.push_back({1, kKeyHex, {}});
    cfg.admission_warmup_ms = 0;
    cfg.migration_enabled = false;
    // No control round (liveness, steering, planning) during a run: the benchmarks
    // time the window and the documents alone, on tables that stay as built.
    cfg.sync_period_ms = 3'600'000;
    ctl = std::make_unique<Controller>(cfg, net, now, 1);
    ctl::GpuRegister g;
    g.set_gpu_id(1);
    g.set_address("127.0.0.1");
    g.set_port(8001);
    g.add_models("openpose");
    g.set_capacity_units_per_s(1e6);
    deliver(make_sender_id(NodeRole::gpu, 1), MessageType::gpu_register, g, 8001);
    uint32_t next_stream = 1;
    for (uint32_t gw = 1; gw <= kGateways; ++gw) {
      const uint32_t sender = make_sender_id(NodeRole::gateway, gw);
      const uint16_t control = uint16_t(20000 + gw);
      ctl::LoadSync ls;
      ls.set_gateway_id(gw);
      ls.set_period_seq(1);
      ls.set_period_ms(1000);
      ls.set_control_address("127.0.0.1");
      ls.set_control_port(control);
      ctl::PortLoad* p = ls.add_ports();
      p->set_address("127.0.0.1");
      p->set_port(30000 + gw);
      p->set_bandwidth_capacity_bps(10e9);
      p->set_memory_capacity_bytes(4e9);
      deliver(sender, MessageType::load_sync, ls, control);
      const uint32_t count = kStreams / kGateways + (gw <= kStreams % kGateways ? 1 : 0);
      for (uint32_t done = 0; done < count;) {
        ctl::StreamSync ss;
        ss.set_gateway_id(gw);
        ss.set_period_seq(1);
        for (uint32_t k = 0; k < kPerPart && done < count; ++k, ++done) {
          ctl::StreamEntry* e = ss.add_streams();
          e->set_stream_id(next_stream++);
          e->set_data_port(30000 + gw);
          e->set_source_address("10.0.0.1");
          e->set_device_control_address("10.0.0.1");
          e->set_device_control_port(7000);
          e->set_bandwidth_bps(5.376e6);
          e->set_memory_bytes(1.344e6);
          e->set_last_unit_seq(5);
          e->set_gpu_id(1);
        }
        deliver(sender, MessageType::stream_sync, ss, control);
      }
    }
  }

  /// One admission request, decided in its own window.
  void admit_one() {
    ctl::AdmissionRequest r;
    // A new device each time: one device may hold only admission.max_streams_per_device.
    const uint32_t device = static_cast<uint32_t>(++request_id % 0xFFFFFF) + 1;
    r.set_request_id(request_id);
    r.set_device_id(device);
    r.set_unit_bytes(672000);
    r.set_period_ms(1000);
    r.set_model("openpose");
    r.set_control_address("127.0.0.1");  // the request's source: admission refuses any other
    r.set_control_port(7001);
    deliver(make_sender_id(NodeRole::device, device), MessageType::admission_request, r, 7001);
    now += 2 * kMs;
    ctl->poll(now);
  }
};

Tables& tables() {
  static Tables t;
  return t;
}

/// The gateways document as it was: a scan of every stream per gateway for its count.
size_t old_gateway_counts(const Controller& c) {
  size_t total = 0;
  for (const auto& [id, g] : c.gateways()) {
    size_t n = 0;
    for (const auto& [sid, s] : c.streams()) n += s.gateway_id == id;
    total += n;
  }
  return total;
}

/// Every stream in one answer: the unpaged listing as it was.
StreamPageQuery whole_list() {
  StreamPageQuery q;
  q.limit = UINT32_MAX;
  return q;
}

void BM_Http(benchmark::State& state) {
  Tables& t = tables();
  const int what = int(state.range(0));
  size_t bytes = 0;
  for (auto _ : state) {
    switch (what) {
      case 0:  // every document, every 250 ms (before)
        bytes = t.ctl->status_json(t.now).dump().size() + t.ctl->gateways_json().dump().size() +
                t.ctl->streams_json(whole_list()).dump().size() + t.ctl->gpus_json().dump().size() +
                t.ctl->migrations_json().dump().size() + t.ctl->prometheus(t.now).size() + old_gateway_counts(*t.ctl);
        break;
      case 1: bytes = t.ctl->prometheus(t.now).size(); break;
    }
    benchmark::DoNotOptimize(bytes);
  }
  static const char* kLabels[] = {"every_250ms (before, x4 per second)", "metrics_scrape (now, per request)"};
  state.SetLabel(kLabels[what]);
  state.counters["bytes"] = double(bytes);
}
BENCHMARK(BM_Http)->ArgName("doc")->Arg(0)->Arg(1)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);

/// GET /api/v1/streams rendered and serialised: the whole list (before) against one
/// 1000-stream page from the middle of the table (now), and one page of a single
/// gateway's streams (the gateway filter, served by the per-gateway index).
void BM_StreamsPage(benchmark::State& state) {
  Tables& t = tables();
  const int what = int(state.range(0));
  StreamPageQuery q = whole_list();
  if (what >= 1) {
    q.limit = kDefaultStreamPageLimit;
    q.after = kStreams / 2;
  }
  if (what == 2) {
    q.after = 0;
    q.gateway = kGateways / 2;
  }
  size_t bytes = 0, rows = 0;
  for (auto _ : state) {
    const nlohmann::json page = t.ctl->streams_json(q);
    rows = page["streams"].size();
    bytes = page.dump().size();
    benchmark::DoNotOptimize(bytes);
  }
  static const char* kLabels[] = {"whole_list (before)", "page_1000 (now)", "page_gateway (now)"};
  state.SetLabel(kLabels[what]);
  state.counters["bytes"] = double(bytes);
  state.counters["rows"] = double(rows);
}
BENCHMARK(BM_StreamsPage)->ArgName("page")->Arg(0)->Arg(1)->Arg(2)->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);

/// What every decision window did before: committed demand per port from all streams.
double recount_committed(const Controller& c) {
  struct Committed {
    double bw = 0, mem = 0;
    uint32_t streams = 0;
  };
  std::map<std::pair<uint32_t, uint32_t>, Committed> committed;
  for (const auto& [id, s] : c.streams()) {
    auto& x = committed[{s.gateway_id, s.port_index}];
    x.bw += s.bandwidth_bps;
    x.mem += s.memory_bytes;
    ++x.streams;
    if (s.target_gateway != 0) {
      auto& t = committed[{s.target_gateway, s.target_port}];
      t.bw += s.bandwidth_bps;
      t.mem += s.memory_bytes;
    }
  }
  return committed.begin()->second.bw;
}

void BM_Window(benchmark::State& state) {
  Tables& t = tables();
  const bool full_scan = state.range(0) != 0;
  for (auto _ : state) {
    if (full_scan) benchmark::DoNotOptimize(recount_committed(*t.ctl));
    t.admit_one();
  }
  state.counters["streams"] = double(t.ctl->streams().size());
  state.SetLabel(full_scan ? "full_scan (before)" : "incremental (now)");
}
BENCHMARK(BM_Window)->ArgName("full_scan")->Arg(1)->Arg(0)->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
