// AMCA split-point planner (edge_planner.h): evaluates A(k) for every split k and
// picks the feasible one that is best for the objective. O(N) with prefix sums.
#include <cmath>
#include <cstddef>
#include <limits>

#include "aigw/edge_planner.h"
#include "edge-sdk/src/abi.h"

namespace {

using aigw::edge::struct_ok;

bool finite_nonneg(double v) { return std::isfinite(v) && v >= 0; }

int validate(const aigw_plan_request* rq) {
  if (rq == nullptr) return AIGW_ERR_INVALID_ARG;
  if (!struct_ok(rq)) return AIGW_ERR_STRUCT_SIZE;
  if (rq->layers == nullptr || rq->layer_count == 0) return AIGW_ERR_INVALID_ARG;
  if (!std::isfinite(rq->uplink_bps) || rq->uplink_bps <= 0) return AIGW_ERR_INVALID_ARG;
  if (!std::isfinite(rq->latency_target_ms) || rq->latency_target_ms <= 0) return AIGW_ERR_INVALID_ARG;
  if (rq->objective != AIGW_PLAN_MIN_DEVICE_TIME && rq->objective != AIGW_PLAN_MIN_BYTES)
    return AIGW_ERR_INVALID_ARG;
  for (uint32_t i = 0; i < rq->layer_count; ++i) {
    if (!finite_nonneg(rq->layers[i].edge_ms) || !finite_nonneg(rq->layers[i].cloud_ms))
      return AIGW_ERR_INVALID_ARG;
  }
  return AIGW_OK;
}

double cloud_total(const aigw_plan_request* rq) {
  double sum = 0;
  for (uint32_t i = 0; i < rq->layer_count; ++i) sum += rq->layers[i].cloud_ms;
  return sum;
}

// Fills `out` for split k given the device time of layers 1..k and the cloud time of
// layers k+1..N.
void fill(const aigw_plan_request* rq, uint32_t k, double device_ms, double cloud_ms,
          aigw_plan_result* out) {
  const uint64_t bytes = k == 0 ? rq->input_bytes
                         : k == rq->layer_count ? 0
                                                : rq->layers[k - 1].output_bytes;
  out->split_layer = k;
  out->device_ms = device_ms;
  out->cloud_ms = cloud_ms;
  out->transfer_bytes = bytes;
  out->transfer_ms = 8.0 * static_cast<double>(bytes) / rq->uplink_bps * 1000.0;
  out->latency_ms = device_ms + out->transfer_ms + cloud_ms;
}

// True when `a` is a better choice than `b` for the objective (both feasible). Ties
// go to the lower latency, then to the earlier split.
bool better(const aigw_plan_result& a, const aigw_plan_result& b, int objective) {
  if (objective == AIGW_PLAN_MIN_BYTES) {
    if (a.transfer_bytes != b.transfer_bytes) return a.transfer_bytes < b.transfer_bytes;
  } else if (a.device_ms != b.device_ms) {
    return a.device_ms < b.device_ms;
  }
  if (a.latency_ms != b.latency_ms) return a.latency_ms < b.latency_ms;
  return a.split_layer < b.split_layer;
}

void copy_out(const aigw_plan_result& from, aigw_plan_result* to) {
  const uint32_t size = to->size;
  *to = from;
  to->size = size;
}

}  // namespace

extern "C" int aigw_plan_evaluate(const aigw_plan_request* rq, uint32_t k, aigw_plan_result* out) {
  if (const int rc = validate(rq); rc != AIGW_OK) return rc;
  if (out == nullptr || k > rq->layer_count) return AIGW_ERR_INVALID_ARG;
  if (!struct_ok(out)) return AIGW_ERR_STRUCT_SIZE;
  double device = 0;
  double cloud = cloud_total(rq);
  for (uint32_t i = 0; i < k; ++i) {
    device += rq->layers[i].edge_ms;
    cloud -= rq->layers[i].cloud_ms;
  }
  aigw_plan_result r{};
  fill(rq, k, device, k == rq->layer_count ? 0.0 : std::fmax(cloud, 0.0), &r);
  copy_out(r, out);
  return AIGW_OK;
}

extern "C" int aigw_plan_split(const aigw_plan_request* rq, aigw_plan_result* out) {
  if (const int rc = validate(rq); rc != AIGW_OK) return rc;
  if (out == nullptr) return AIGW_ERR_INVALID_ARG;
  if (!struct_ok(out)) return AIGW_ERR_STRUCT_SIZE;

  aigw_plan_result best{};
  aigw_plan_result fastest{};
  bool have_best = false;
  fastest.latency_ms = std::numeric_limits<double>::infinity();
  double device = 0;
  double cloud = cloud_total(rq);
  for (uint32_t k = 0; k <= rq->layer_count; ++k) {
    if (k > 0) {
      device += rq->layers[k - 1].edge_ms;
      cloud -= rq->layers[k - 1].cloud_ms;
    }
    // Clamp the running difference: rounding must not make the remote part negative.
    aigw_plan_result r{};
    fill(rq, k, device, k == rq->layer_count ? 0.0 : std::fmax(cloud, 0.0), &r);
    if (r.latency_ms < fastest.latency_ms) fastest = r;
    if (r.latency_ms <= rq->latency_target_ms && (!have_best || better(r, best, rq->objective))) {
      best = r;
      have_best = true;
    }
  }
  copy_out(have_best ? best : fastest, out);
  return have_best ? AIGW_OK : AIGW_ERR_INFEASIBLE;
}
