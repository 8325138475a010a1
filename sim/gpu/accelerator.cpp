#include "sim/gpu/accelerator.h"

#include <algorithm>
#include <climits>
#include <cmath>

namespace aigw::sim {

uint32_t AcceleratorConfig::target_batch() const {
  const double s = std::clamp(scale, 0.0, 1.0);
  return 1 + static_cast<uint32_t>(std::lround(s * (std::max<uint32_t>(batch_max, 1) - 1)));
}

int64_t AcceleratorConfig::wait_ns() const {
  return static_cast<int64_t>(std::clamp(scale, 0.0, 1.0) * static_cast<double>(max_wait_ns));
}

int64_t AcceleratorConfig::batch_ns(uint32_t n) const {
  return static_cast<int64_t>(static_cast<double>(inference_ns) * (1 + batch_cost * (std::max<uint32_t>(n, 1) - 1)));
}

Accelerator::Accelerator(const AcceleratorConfig& config, std::vector<std::string> models)
    : config_(config), queues_(models.size()), stats_(models.size()) {
  for (size_t i = 0; i < models.size(); ++i) stats_[i].name = std::move(models[i]);
  running_units_.reserve(config_.batch_max);
}

uint32_t Accelerator::model_index(const std::string& name) const {
  for (size_t i = 0; i < stats_.size(); ++i)
    if (stats_[i].name == name) return static_cast<uint32_t>(i);
  return UINT32_MAX;
}

bool Accelerator::enqueue(uint32_t model, const QueuedUnit& unit) {
  if (model >= queues_.size()) return false;
  if (queues_[model].size() >= config_.max_queue) {
    ++stats_[model].units_dropped;
    return false;
  }
  queues_[model].push_back(unit);
  stats_[model].queued = queues_[model].size();
  return true;
}

uint32_t Accelerator::available(uint32_t m, int64_t now_ns) const {
  // Units queue in arrival order; a batch starting at now_ns takes only those already there.
  uint32_t n = 0;
  for (const auto& u : queues_[m]) {
    if (u.arrived_ns > now_ns || n == config_.batch_max) break;
    ++n;
  }
  return n;
}

bool Accelerator::ready(uint32_t m, int64_t now_ns) const {
  const uint32_t n = available(m, now_ns);
  if (n == 0) return false;
  return n >= config_.target_batch() || now_ns - queues_[m].front().arrived_ns >= config_.wait_ns();
}

void Accelerator::start_batch(int64_t now_ns) {
  // Among ready models, serve the one whose head has waited longest.
  uint32_t pick = UINT32_MAX;
  for (uint32_t m = 0; m < queues_.size(); ++m)
    if (ready(m, now_ns) && (pick == UINT32_MAX || queues_[m].front().arrived_ns < queues_[pick].front().arrived_ns))
      pick = m;
  if (pick == UINT32_MAX) return;
  auto& q = queues_[pick];
  const uint32_t n = available(pick, now_ns);
  running_units_.assign(q.begin(), q.begin() + n);
  q.erase(q.begin(), q.begin() + n);
  stats_[pick].queued = q.size();
  running_ = BatchResult{pick, n, now_ns, now_ns + config_.batch_ns(n), running_units_.front().arrived_ns};
  busy_ = true;
  busy_since_ns_ = now_ns;
}

void Accelerator::advance(int64_t now_ns, BatchSink& sink) {
  for (;;) {
    if (busy_) {
      if (running_.finished_ns > now_ns) return;
      busy_ = false;
      busy_accum_ns_ += running_.finished_ns - busy_since_ns_;
      ModelStats& st = stats_[running_.model];
      st.units_inferred += running_.size;
      ++st.batches;
      for (const auto& u : running_units_)
        st.latency_sum_ms += static_cast<double>(running_.finished_ns - u.arrived_ns) / 1e6;
      sink.on_batch(running_);
      // The device was free from the batch's end: a waiting batch starts then.
      start_batch(running_.finished_ns);
      if (busy_) continue;
    }
    start_batch(now_ns);
    if (!busy_) return;
  }
}

int64_t Accelerator::next_event_ns() const {
  if (busy_) return running_.finished_ns;
  int64_t next = INT64_MAX;
  for (uint32_t m = 0; m < queues_.size(); ++m)
    if (!queues_[m].empty()) next = std::min(next, queues_[m].front().arrived_ns + config_.wait_ns());
  return next;
}

double Accelerator::take_busy_fraction(int64_t now_ns) {
  int64_t busy = busy_accum_ns_;
  if (busy_) {
    const int64_t upto = std::min(now_ns, running_.finished_ns);
    busy += std::max<int64_t>(0, upto - busy_since_ns_);
    busy_since_ns_ = std::max(busy_since_ns_, upto);
  }
  busy_accum_ns_ = 0;
  const int64_t span = now_ns - last_take_ns_;
  last_take_ns_ = now_ns;
  return span > 0 ? std::clamp(static_cast<double>(busy) / static_cast<double>(span), 0.0, 1.0) : 0;
}

}  // namespace aigw::sim
