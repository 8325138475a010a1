#include "controller/balancing/gpu_steering.h"

#include <algorithm>

namespace aigw::controller {

void GpuSteering::upsert(const GpuServer& s) {
  Entry& e = servers_[s.id];
  e.server = s;
}

void GpuSteering::report_load(uint32_t id, double load) {
  auto it = servers_.find(id);
  if (it == servers_.end()) return;
  it->second.reported = load;
  it->second.booked_at_report = it->second.booked;
}

double GpuSteering::delta(const Entry& e, double units_per_s) const {
  // A server without a declared capacity counts each unit/s as 1% load.
  const double cap = e.server.capacity_units_per_s > 0 ? e.server.capacity_units_per_s : 100.0;
  return units_per_s / cap;
}

double GpuSteering::est(const Entry& e) const {
  return std::max(0.0, e.reported + delta(e, e.booked - e.booked_at_report));
}

double GpuSteering::estimated_load(uint32_t id) const {
  auto it = servers_.find(id);
  return it == servers_.end() ? 0 : est(it->second);
}

const GpuServer* GpuSteering::find(uint32_t id) const {
  auto it = servers_.find(id);
  return it == servers_.end() ? nullptr : &it->second.server;
}

bool GpuSteering::serves(uint32_t id, const std::string& model) const {
  const GpuServer* s = find(id);
  if (s == nullptr) return false;
  return model.empty() || std::find(s->models.begin(), s->models.end(), model) != s->models.end();
}

std::vector<uint32_t> GpuSteering::ids() const {
  std::vector<uint32_t> out;
  for (const auto& [id, e] : servers_) out.push_back(id);
  return out;
}

uint32_t GpuSteering::streams_on(uint32_t id) const {
  auto it = servers_.find(id);
  return it == servers_.end() ? 0 : it->second.streams;
}

uint32_t GpuSteering::least_loaded(const std::string& model, uint32_t exclude) const {
  uint32_t best = 0;
  double best_load = 0;
  for (const auto& [id, e] : servers_) {
    if (id == exclude || !serves(id, model)) continue;
    const double l = est(e);
    if (best == 0 || l < best_load) {
      best = id;
      best_load = l;
    }
  }
  return best;
}

uint32_t GpuSteering::choose(const std::string& model, double units_per_s) {
  const uint32_t id = least_loaded(model, 0);
  if (id != 0) book(id, units_per_s);
  return id;
}

void GpuSteering::book(uint32_t id, double units_per_s) {
  auto it = servers_.find(id);
  if (it == servers_.end()) return;
  it->second.booked += units_per_s;
  ++it->second.streams;
}

void GpuSteering::release(uint32_t id, double units_per_s) {
  auto it = servers_.find(id);
  if (it == servers_.end()) return;
  it->second.booked -= units_per_s;
  if (it->second.streams > 0) --it->second.streams;
}

std::vector<Resteer> GpuSteering::rebalance(std::span<const SteeredStream> streams, const SteeringParams& p) {
  std::vector<Resteer> out;
  // Streams whose server is gone (or never set) must move, whatever the cap.
  for (const auto& s : streams) {
    if (s.gpu_id != 0 && servers_.count(s.gpu_id)) continue;
    const uint32_t to = choose(s.model, s.units_per_s);
    if (to != 0 || s.gpu_id != 0) out.push_back({s.stream_id, s.gpu_id, to});
  }
  // Then relieve overloaded or far-above-the-rest servers, most loaded first.
  std::vector<const SteeredStream*> order;
  for (const auto& s : streams)
    if (s.gpu_id != 0 && servers_.count(s.gpu_id)) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(), [&](auto* a, auto* b) {
    return estimated_load(a->gpu_id) > estimated_load(b->gpu_id);
  });
  uint32_t moves = 0;
  for (const SteeredStream* s : order) {
    if (moves >= p.max_moves) break;
    const Entry& src = servers_.at(s->gpu_id);
    const uint32_t to = least_loaded(s->model, s->gpu_id);
    if (to == 0) continue;
    const Entry& dst = servers_.at(to);
    const double src_load = est(src), dst_load = est(dst);
    if (!(src_load > p.overload || src_load - dst_load > p.spread)) continue;
    // Only when the move leaves the target below where the source ends up.
    if (dst_load + delta(dst, s->units_per_s) >= src_load - delta(src, s->units_per_s)) continue;
    release(s->gpu_id, s->units_per_s);
    book(to, s->units_per_s);
    out.push_back({s->stream_id, s->gpu_id, to});
    ++moves;
  }
  return out;
}

}  // namespace aigw::controller
