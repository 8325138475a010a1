// The modelled accelerator of aigw-gpu-emu: verified units queue per model; one device
// runs one batch at a time; a batch of n units takes
//   inference_ns * (1 + batch_cost * (n - 1)),
// so batching raises throughput at the price of waiting. `scale` in [0, 1] is the
// throughput/latency preference: 0 starts a batch as soon as the device is free with
// whatever is queued (lowest latency), 1 waits for full batches of batch_max up to
// max_wait_ns (highest throughput); values between set the target batch size
// 1 + scale * (batch_max - 1) and the wait scale * max_wait_ns.
// I/O-free and clock-free: time is a parameter, finished batches go to a callback.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace aigw::sim {

struct AcceleratorConfig {
  uint32_t batch_max = 16;
  double scale = 0.5;
  int64_t inference_ns = 5'000'000;  ///< one unit alone
  double batch_cost = 0.15;          ///< each extra unit costs this fraction of one
  int64_t max_wait_ns = 50'000'000;  ///< longest a unit waits for its batch to fill (scale 1)
  uint32_t max_queue = 4096;         ///< per model; beyond it units are dropped and counted

  /// Units per batch the policy aims for.
  uint32_t target_batch() const;
  /// Longest a queued unit waits for a fuller batch.
  int64_t wait_ns() const;
  /// Time one batch of `n` units takes.
  int64_t batch_ns(uint32_t n) const;
};

struct QueuedUnit {
  uint32_t stream_id = 0;
  uint32_t unit_seq = 0;
  uint32_t bytes = 0;
  int64_t arrived_ns = 0;
};

struct BatchResult {
  uint32_t model = 0;  ///< index into the model list
  uint32_t size = 0;
  int64_t started_ns = 0;
  int64_t finished_ns = 0;
  int64_t oldest_arrival_ns = 0;  ///< queueing + inference latency = finished - this
};

struct ModelStats {
  std::string name;
  uint64_t units_inferred = 0;
  uint64_t units_dropped = 0;  ///< queue full
  uint64_t batches = 0;
  double latency_sum_ms = 0;   ///< arrival -> batch finished, summed over units
  size_t queued = 0;

  double mean_latency_ms() const { return units_inferred ? latency_sum_ms / units_inferred : 0; }
  double mean_batch() const { return batches ? double(units_inferred) / double(batches) : 0; }
};

class BatchSink {
 public:
  virtual ~BatchSink() = default;
  virtual void on_batch(const BatchResult& batch) = 0;
};

/// \threadbound One per emulated GPU server, driven by its loop.
class Accelerator {
 public:
  Accelerator(const AcceleratorConfig& config, std::vector<std::string> models);

  /// Queues a verified unit for `model`. False (and counted) when its queue is full.
  bool enqueue(uint32_t model, const QueuedUnit& unit);
  /// Finishes the running batch and starts new ones, up to `now_ns`.
  void advance(int64_t now_ns, BatchSink& sink);
  /// When advance() next has something to do, or INT64_MAX.
  int64_t next_event_ns() const;

  /// Busy fraction of the device since the previous call (for load reports).
  double take_busy_fraction(int64_t now_ns);
  const std::vector<ModelStats>& stats() const { return stats_; }
  uint32_t model_index(const std::string& name) const;  ///< UINT32_MAX if unknown
  const AcceleratorConfig& config() const { return config_; }

 private:
  uint32_t available(uint32_t model, int64_t now_ns) const;
  bool ready(uint32_t model, int64_t now_ns) const;
  void start_batch(int64_t now_ns);

  AcceleratorConfig config_;
  std::vector<std::deque<QueuedUnit>> queues_;
  std::vector<ModelStats> stats_;
  bool busy_ = false;
  BatchResult running_;
  std::vector<QueuedUnit> running_units_;
  int64_t busy_accum_ns_ = 0;     // busy time since the last take_busy_fraction
  int64_t busy_since_ns_ = 0;     // start of the running batch's unaccounted part
  int64_t last_take_ns_ = 0;
};

}  // namespace aigw::sim
