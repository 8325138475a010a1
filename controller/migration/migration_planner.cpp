#include "controller/migration/migration_planner.h"

#include <Eigen/Dense>
#include <algorithm>
#include <numeric>

#include "controller/balancing/load_model.h"

namespace aigw::controller {
namespace {

struct Work {
  std::vector<double> load, bw_left, mem_left;
  explicit Work(std::span<const PlanGateway> gws) {
    for (const auto& g : gws) {
      load.push_back(g.load);
      bw_left.push_back(g.bw_left);
      mem_left.push_back(g.mem_left);
    }
  }
  double lsd() const {
    return population_stddev(Eigen::Map<const Eigen::VectorXd>(load.data(), static_cast<Eigen::Index>(load.size())));
  }
  bool fits(size_t t, const PlanStream& s) const { return s.bandwidth_bps <= bw_left[t] && s.memory_bytes <= mem_left[t]; }
};

/// The streams of g that may move, smallest resource share first.
std::vector<const PlanStream*> smallest_first(const PlanGateway& g) {
  std::vector<const PlanStream*> out;
  for (const auto& s : g.streams)
    if (s.movable) out.push_back(&s);
  auto share = [&](const PlanStream* s) { return s->bandwidth_bps / g.vmax_total + s->memory_bytes / g.mmax; };
  std::stable_sort(out.begin(), out.end(), [&](auto* a, auto* b) { return share(a) < share(b); });
  return out;
}

void apply(Work& w, std::span<const PlanGateway> gws, size_t from, size_t to, const PlanStream& s,
           const PlanParams& p, Plan& plan) {
  w.load[from] -= stream_load(gws[from], s, p);
  w.load[to] += stream_load(gws[to], s, p);
  w.bw_left[from] += s.bandwidth_bps;
  w.mem_left[from] += s.memory_bytes;
  w.bw_left[to] -= s.bandwidth_bps;
  w.mem_left[to] -= s.memory_bytes;
  plan.moves.push_back({s.stream_id, gws[from].gateway_id, gws[to].gateway_id});
}

}  // namespace

double stream_load(const PlanGateway& g, const PlanStream& s, const PlanParams& p) {
  const double net = g.vmax_total > 0 ? s.bandwidth_bps / g.vmax_total : 0;
  const double mem = g.mmax > 0 ? s.memory_bytes / g.mmax : 0;
  return p.weight_net * net + p.weight_memory * mem + p.weight_cpu * g.cpu_per_bps * s.bandwidth_bps;
}

Plan plan_balance(std::span<const PlanGateway> gws, const PlanParams& p) {
  Plan plan;
  Work w(gws);
  plan.lsd_before = plan.lsd_after = w.lsd();
  if (gws.size() < 2) return plan;
  const double mean = std::accumulate(w.load.begin(), w.load.end(), 0.0) / double(gws.size());

  std::vector<size_t> sources;
  for (size_t i = 0; i < gws.size(); ++i)
    if (w.load[i] > mean) sources.push_back(i);
  std::stable_sort(sources.begin(), sources.end(), [&](size_t a, size_t b) { return w.load[a] > w.load[b]; });

  for (size_t src : sources) {
    for (const PlanStream* s : smallest_first(gws[src])) {
      if (plan.moves.size() >= p.max_moves || w.load[src] <= mean) break;
      const double after_src = w.load[src] - stream_load(gws[src], *s, p);
      size_t best = gws.size();
      for (size_t t = 0; t < gws.size(); ++t) {
        if (t == src || gws[t].draining || w.load[t] >= mean || !w.fits(t, *s)) continue;
        // No overshoot: the target must stay below what the source drops to.
        if (w.load[t] + stream_load(gws[t], *s, p) >= after_src) continue;
        if (best == gws.size() || w.load[t] < w.load[best]) best = t;
      }
      if (best == gws.size()) continue;
      apply(w, gws, src, best, *s, p, plan);
    }
  }
  plan.lsd_after = w.lsd();
  if (plan.lsd_after >= plan.lsd_before) {
    plan.moves.clear();
    plan.lsd_after = plan.lsd_before;
  }
  return plan;
}

Plan plan_drain(std::span<const PlanGateway> gws, const PlanParams& p) {
  Plan plan;
  Work w(gws);
  plan.lsd_before = w.lsd();
  for (size_t src = 0; src < gws.size(); ++src) {
    if (!gws[src].draining) continue;
    for (const PlanStream* s : smallest_first(gws[src])) {
      if (plan.moves.size() >= p.max_moves) break;
      size_t best = gws.size();
      for (size_t t = 0; t < gws.size(); ++t) {
        if (gws[t].draining || !w.fits(t, *s)) continue;
        if (best == gws.size() || w.load[t] < w.load[best]) best = t;
      }
      if (best == gws.size()) continue;
      apply(w, gws, src, best, *s, p, plan);
    }
  }
  plan.lsd_after = w.lsd();
  return plan;
}

}  // namespace aigw::controller
