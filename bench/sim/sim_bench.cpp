// Discrete-event mode throughput: simulated stream-periods per second at 1,000, 10,000
// and 100,000 streams (the controller's real core, every control message sealed and
// authenticated), against a baseline measured in the same run: the same number of
// events through a bare std::priority_queue of std::function with no work in them —
// the skeleton of the simulator's event loop. `ratio` = simulator events/s ÷ bare
// queue events/s: the share of the queue's pace the simulation keeps while doing
// admission, load modelling, forecasting and migration for real.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

#include "protocol/log.h"
#include "sim/discrete/discrete_run.h"

namespace {

using aigw::sim::Scenario;

constexpr uint32_t kPeriods = 5;

// A cluster sized for `streams` unscaled 672 KB streams: one gateway (4 × 10 Gbit/s)
// per 800 streams, at least 4; all streams start within the first period.
Scenario make_scenario(uint32_t streams) {
  Scenario s;
  s.name = "bench";
  s.mode = "discrete";
  s.seed = 3;
  s.duration_periods = kPeriods;
  s.controller.admission_algorithm = "iadga";
  s.controller.migration_enabled = true;
  const uint32_t gateways = std::max<uint32_t>(4, streams / 800);
  for (uint32_t i = 1; i <= gateways; ++i) {
    aigw::sim::GatewaySpec g;
    g.id = i;
    g.ports = 4;
    g.port_capacity_bps = 10e9;
    g.memory_bytes = 4096e6;
    g.cpu_fragments_per_s = 8e6;
    s.gateways.push_back(g);
  }
  for (uint32_t i = 1; i <= 16; ++i) {
    aigw::sim::GpuSpec g;
    g.id = i;
    g.models = {"openpose"};
    g.capacity_units_per_s = 20000;
    s.gpus.push_back(g);
  }
  aigw::sim::StreamGroup grp;
  grp.name = "streams";
  grp.count = streams;
  grp.start_spread_periods = 1;
  grp.unit_size = {aigw::sim::UnitSizePhase{}};
  s.streams.push_back(grp);
  return s;
}

// The baseline: `n` events at pseudo-random times through the same kind of queue the
// simulator uses, each a std::function that only counts. Returns seconds.
double bare_queue_seconds(uint64_t n) {
  struct Event {
    int64_t t;
    uint64_t seq;
    std::function<void()> fn;
    bool operator<(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };
  const auto t0 = std::chrono::steady_clock::now();
  std::priority_queue<Event> q;
  uint64_t x = 88172645463325252ull, done = 0;
  for (uint64_t i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    q.push({int64_t(x % 1'000'000'000), i, [&done] { ++done; }});
  }
  while (!q.empty()) {
    Event e = q.top();
    q.pop();
    e.fn();
  }
  benchmark::DoNotOptimize(done);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void BM_DiscreteRun(benchmark::State& state) {
  aigw::log::set_level(aigw::log::Level::error);
  const uint32_t streams = static_cast<uint32_t>(state.range(0));
  const Scenario s = make_scenario(streams);
  double sim_s = 0, base_s = 0;
  uint64_t events = 0, stream_periods = 0;
  for (auto _ : state) {
    aigw::sim::RunReport report;
    const auto t0 = std::chrono::steady_clock::now();
    const std::string error = aigw::sim::run_discrete(s, aigw::sim::DiscreteOptions{}, report);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!error.empty() || report.streams_admitted != streams) {
      state.SkipWithError("the discrete run failed or did not admit every stream");
      return;
    }
    state.SetIterationTime(seconds);
    const uint64_t n = report.extra.value("events", uint64_t{0}) + report.extra.value("controller_ticks", uint64_t{0});
    sim_s += seconds;
    base_s += bare_queue_seconds(n);
    events += n;
    stream_periods += report.units_sent;
  }
  state.counters["stream_periods_per_s"] = double(stream_periods) / sim_s;
  state.counters["events_per_s"] = double(events) / sim_s;
  state.counters["bare_queue_events_per_s"] = double(events) / base_s;
  state.counters["ratio"] = base_s / sim_s;
}

BENCHMARK(BM_DiscreteRun)->Arg(1000)->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DiscreteRun)->Arg(10000)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DiscreteRun)->Arg(100000)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
