// Admission decision time and balance quality of every algorithm, with least
// connections (the IPVS lc baseline) measured on the same instance in the same run.
//
// Counters: max_mean (max/mean load after the decision), cv (coefficient of variation
// of the loads), admitted, cpu_us (thread CPU time per decision), time_vs_lc (CPU
// time / lc's on the same instance), max_mean_vs_lc. CPU time rather than wall time,
// because the machines these run on are shared and a descheduled thread is not slow.
// Args: {gateways, requests, mixed}; mixed = 1 draws unit sizes from three models.
#include <benchmark/benchmark.h>

#include <time.h>

#include <random>

#include "controller/admission/admission.h"

namespace {

using namespace aigw::controller;

struct Instance {
  std::vector<AdmissionTarget> targets;
  std::vector<AdmissionDemand> requests;
};

/// Gateways with one 10 Gb/s port and 4 GB of reassembly memory, u = 0.8, already
/// carrying a random 0-10 % load; requests of the reference stream (672 KB per 1 s
/// period, two units in flight) or a mix of three unit sizes. Seeded: same every run.
Instance make_instance(size_t gateways, size_t requests, bool mixed) {
  std::mt19937 rng(20261122);
  std::uniform_real_distribution<double> used(0, 0.1);
  Instance in;
  for (size_t g = 0; g < gateways; ++g) {
    AdmissionTarget t;
    t.gateway_id = uint32_t(g + 1);
    const double u0 = used(rng);
    t.bw_capacity = 10e9;
    t.mem_capacity = 4e9;
    t.bw_remaining = 0.8 * 10e9 - u0 * 10e9;
    t.mem_remaining = 0.8 * 4e9 - u0 * 4e9;
    t.load = u0;
    t.streams = uint32_t(u0 * 1000);
    in.targets.push_back(t);
  }
  const double sizes[] = {672e3, 336e3, 1008e3};
  std::discrete_distribution<int> pick({6, 3, 1});
  for (size_t r = 0; r < requests; ++r) {
    const double unit = mixed ? sizes[pick(rng)] : 672e3;
    in.requests.push_back({unit * 8, unit * 2});
  }
  return in;
}

double cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

/// Mean CPU time of one decision, repeated for at least 50 ms of CPU.
double time_ns(AdmissionAlgorithm& a, const Instance& in, std::vector<int32_t>& out) {
  const double t0 = cpu_ns();
  int reps = 0;
  do {
    a.decide(in.targets, in.requests, out);
    ++reps;
  } while (cpu_ns() - t0 < 50e6);
  return (cpu_ns() - t0) / reps;
}

void BM_Admission(benchmark::State& state, const char* name) {
  const Instance in = make_instance(size_t(state.range(0)), size_t(state.range(1)), state.range(2) != 0);
  const AdmissionOptions opts;
  auto algo = make_admission(name, opts);
  auto lc = make_admission("lc", opts);
  std::vector<int32_t> out, lc_out;
  // Baseline in the same run, on the same instance.
  const double lc_ns = time_ns(*lc, in, lc_out);
  const BalanceQuality lcq = balance_quality(in.targets, in.requests, lc_out, opts.increment);

  double total_ns = 0;
  int64_t runs = 0;
  for (auto _ : state) {
    const double t0 = cpu_ns();
    algo->decide(in.targets, in.requests, out);
    total_ns += cpu_ns() - t0;
    ++runs;
    benchmark::DoNotOptimize(out.data());
  }
  const BalanceQuality q = balance_quality(in.targets, in.requests, out, opts.increment);
  state.counters["max_mean"] = q.max_over_mean;
  state.counters["cv"] = q.coefficient_of_variation;
  state.counters["admitted"] = double(q.admitted);
  state.counters["cpu_us"] = total_ns / double(runs) / 1e3;
  state.counters["time_vs_lc"] = (total_ns / double(runs)) / lc_ns;
  state.counters["max_mean_vs_lc"] = q.max_over_mean / lcq.max_over_mean;
}

void scenarios(benchmark::internal::Benchmark* b) {
  for (int64_t m : {100, 200, 300, 400, 500}) b->Args({4, m, 0});
  b->Args({100, 10000, 0});
  b->Args({100, 100000, 0});
  b->Args({100, 100000, 1});
  b->ArgNames({"gw", "req", "mixed"});
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK_CAPTURE(BM_Admission, lc, "lc")->Apply(scenarios);
BENCHMARK_CAPTURE(BM_Admission, adga, "adga")->Apply(scenarios);
BENCHMARK_CAPTURE(BM_Admission, iadga, "iadga")->Apply(scenarios);
BENCHMARK_CAPTURE(BM_Admission, balanced, "balanced")->Apply(scenarios);

}  // namespace

BENCHMARK_MAIN();
