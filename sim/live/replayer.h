// Replays device streams through the real edge SDK: every stream is one device handle
// (aigw_edge, event-loop mode) asking the controller for admission, sending one unit
// per period with the scenario's sizes, answering NACKs and following migrations.
// Streams are multiplexed over a few threads (each polls its handles' descriptors).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "protocol/envelope.h"
#include "sim/scenario/scenario.h"

namespace aigw::sim {

struct ReplayConfig {
  std::string controller;           ///< "127.0.0.1:7700"
  uint32_t key_id = 1;
  ControlKey key{};
  uint32_t first_device_id = 1000;
  unsigned threads = 2;
  int64_t t0_ns = 0;                ///< period 0 starts here (monotonic clock)
  int64_t drain_ns = 4'000'000'000; ///< after the last unit: keep answering NACKs
  /// Give every device its own loopback addresses (cluster_config.h: control and
  /// announced source on 127.2.x.y, data socket on 127.3.x.y), for relayed data.
  bool per_device_addresses = false;
};

/// Outcome and counters of one replayed stream.
struct ReplayStreamResult {
  uint32_t index = 0;
  uint32_t device_id = 0;
  std::string group;
  uint32_t stream_id = 0;           ///< 0: never admitted
  std::string rejected;             ///< why admission failed ("" when admitted)
  double admission_ms = 0;
  uint32_t gateway_id = 0;          ///< current (last known) gateway
  uint64_t units_sent = 0;
  uint64_t units_busy = 0;          ///< send_unit refused (store full): unit skipped
  uint64_t fragments_sent = 0;
  uint64_t fragments_resent = 0;
  uint64_t migrations = 0;
  uint64_t unrecoverable = 0;       ///< NACKs for units no longer stored
};

/// Per-gateway traffic of one period, attributed to each stream's current gateway.
struct ReplayPeriod {
  uint32_t period = 0;
  std::vector<std::pair<uint32_t, std::pair<uint64_t, uint64_t>>> per_gateway;  ///< id -> (sent, resent)
  uint32_t streams_active = 0;
};

class Replayer {
 public:
  Replayer(const Scenario& scaled, const ReplayConfig& config);
  ~Replayer();

  /// Starts the threads; streams open at their start times from config.t0_ns on.
  void start();
  /// Asks the threads to stop sending now (Ctrl-C); they still drain and close.
  void abort();
  /// Waits for every thread: units until the scenario's end, then the drain.
  void join();
  bool finished() const { return finished_threads_.load() == threads_.size(); }

  /// Snapshot of all streams (safe while running).
  std::vector<ReplayStreamResult> results() const;
  /// Streams admitted / units sent so far (cheap, for the progress line).
  uint64_t admitted() const { return admitted_.load(); }
  uint64_t units_sent() const { return units_sent_.load(); }
  uint64_t rejected() const { return rejected_.load(); }
  /// Periods completed so far, each with per-gateway fragment deltas.
  std::vector<ReplayPeriod> periods() const;

 private:
  struct Stream;
  struct Worker;
  void run_worker(Worker& w);
  int64_t open_and_send(Worker& w, int64_t now, int64_t end_ns);
  int create_edge(Stream* s);
  void open_stream(Worker& w, Stream* s);
  void send_unit(Worker& w, Stream* s, int64_t now);
  void sample(Worker& w, uint32_t period);
  int64_t process_due_timers(Worker& w, int64_t now, int64_t end_ns, int64_t wake);
  void process_traffic(Worker& w, int64_t wake);

  Scenario scenario_;
  ReplayConfig config_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> abort_{false};
  std::atomic<size_t> finished_threads_{0};
  std::atomic<uint64_t> admitted_{0}, units_sent_{0}, rejected_{0};
  mutable std::mutex mu_;  // guards results in Stream and periods_
  std::map<uint32_t, ReplayPeriod> periods_;
};

}  // namespace aigw::sim
