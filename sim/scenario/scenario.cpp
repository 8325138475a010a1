#include "sim/scenario/scenario.h"

#include <set>

#include <fmt/format.h>

namespace aigw::sim {

bool parse_impaired_hop(std::string_view text, ImpairedHop& out) {
  if (text == "device") out = ImpairedHop::device;
  else if (text == "gpu") out = ImpairedHop::gpu;
  else if (text == "both") out = ImpairedHop::both;
  else return false;
  return true;
}

const char* to_string(ImpairedHop hop) {
  switch (hop) {
    case ImpairedHop::device: return "device";
    case ImpairedHop::gpu: return "gpu";
    case ImpairedHop::both: return "both";
  }
  return "device";
}

uint64_t Scenario::total_streams() const {
  uint64_t n = 0;
  for (const auto& g : streams) n += g.count;
  return n;
}

double Scenario::nominal_offered_bps() const {
  double bps = 0;
  for (const auto& g : streams) {
    const double period_s = (g.period_ms ? g.period_ms : period_ms) / 1000.0;
    bps += g.count * g.unit_size.front().mean_bytes * 8 / period_s;
  }
  return bps;
}

Scenario apply_scale(const Scenario& s) {
  Scenario out = s;
  const double k = s.scale;
  for (auto& g : out.gateways) {
    g.port_capacity_bps *= k;
    g.memory_bytes *= k;
    // CPU work is per fragment; fragments per unit shrink with the unit at a fixed
    // payload, so the data plane's fragment budget scales too.
    g.cpu_fragments_per_s *= k;
  }
  for (auto& grp : out.streams)
    for (auto& ph : grp.unit_size) {
      ph.mean_bytes *= k;
      ph.stddev_bytes *= k;
      ph.min_bytes = std::max(1.0, ph.min_bytes * k);
      ph.max_bytes *= k;
    }
  return out;
}

std::string validate(const Scenario& s) {
  if (s.gateways.empty()) return "no gateways";
  if (s.streams.empty()) return "no streams";
  std::set<uint32_t> ids;
  for (const auto& g : s.gateways)
    if (!ids.insert(g.id).second) return fmt::format("gateway id {} appears twice", g.id);
  std::set<uint32_t> gpu_ids;
  std::set<std::string> models;
  for (const auto& g : s.gpus) {
    if (!gpu_ids.insert(g.id).second) return fmt::format("gpu id {} appears twice", g.id);
    models.insert(g.models.begin(), g.models.end());
  }
  for (const auto& grp : s.streams) {
    if (!s.gpus.empty() && !models.count(grp.model))
      return fmt::format("streams '{}': no GPU server runs model '{}'", grp.name, grp.model);
    if (grp.unit_size.empty() || grp.unit_size.front().from_period != 0)
      return fmt::format("streams '{}': the first unit_size phase must start at period 0", grp.name);
    if (grp.stop_period && grp.stop_period <= grp.start_period)
      return fmt::format("streams '{}': stop_period must be after start_period", grp.name);
    for (const auto& ph : grp.unit_size) {
      if (ph.min_bytes > ph.max_bytes)
        return fmt::format("streams '{}': min_bytes > max_bytes", grp.name);
      const double largest = ph.dist == SizeDist::constant ? ph.mean_bytes : ph.max_bytes;
      if (largest * s.scale > 16e6)
        return fmt::format("streams '{}': units up to {:.0f} bytes exceed the 16 MB unit limit", grp.name,
                           largest * s.scale);
      if (largest * s.scale / grp.fragment_payload > 65535)
        return fmt::format("streams '{}': units would need more than 65535 fragments", grp.name);
    }
  }
  for (const auto& f : s.failures) {
    if (!ids.count(f.gateway_id)) return fmt::format("failure names unknown gateway {}", f.gateway_id);
    if (f.at_period >= s.duration_periods)
      return fmt::format("failure of gateway {} at period {} is after the end", f.gateway_id, f.at_period);
  }
  return {};
}

}  // namespace aigw::sim
