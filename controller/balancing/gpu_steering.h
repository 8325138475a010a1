// GPU steering (docs/controller.md §1.5, §2.4): a stream goes to the least-loaded live GPU server that
// serves its model; streams are moved when their server leaves or dies, when a server
// is overloaded, or when the spread between servers of a model grows too wide.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "protocol/udp_endpoint.h"

namespace aigw::controller {

struct GpuServer {
  uint32_t id = 0;
  std::string address;
  uint32_t port = 0;
  std::vector<std::string> models;
  double capacity_units_per_s = 0;
  UdpEndpoint control;  // where its PeerKeys go
};

struct SteeredStream {
  uint32_t stream_id = 0;
  uint32_t gpu_id = 0;  // 0: not steered yet
  std::string model;
  double units_per_s = 0;
};

struct Resteer {
  uint32_t stream_id = 0;
  uint32_t from = 0;
  uint32_t to = 0;  // 0: no server can take it
};

struct SteeringParams {
  double overload = 0.9;   // estimated load above which streams move away
  double spread = 0.25;    // move when a server is this much above the least loaded
  uint32_t max_moves = 16; // per rebalance call
};

class GpuSteering {
 public:
  /// Adds or updates a server (GpuRegister). Keeps its assigned streams.
  void upsert(const GpuServer& s);
  /// Removes a server (left or dead); its streams are re-steered by rebalance().
  void remove(uint32_t id) { servers_.erase(id); }
  /// Records a load report (GpuLoadSync): the busy fraction the server measured.
  void report_load(uint32_t id, double load);

  /// Picks the least-loaded server for `model` (empty = any) and books the stream's
  /// rate on it; 0 when none serves the model.
  uint32_t choose(const std::string& model, double units_per_s);
  /// Books a stream found on `id` (adopted after a restart, or a re-steer).
  void book(uint32_t id, double units_per_s);
  /// Releases what choose()/book() booked.
  void release(uint32_t id, double units_per_s);

  /// Moves to make now; books them. Streams name their current server.
  std::vector<Resteer> rebalance(std::span<const SteeredStream> streams, const SteeringParams& p);

  /// Reported load plus the change booked since that report.
  double estimated_load(uint32_t id) const;
  const GpuServer* find(uint32_t id) const;
  bool serves(uint32_t id, const std::string& model) const;
  std::vector<uint32_t> ids() const;
  uint32_t streams_on(uint32_t id) const;

 private:
  struct Entry {
    GpuServer server;
    double reported = 0;
    double booked = 0;            // units/s of the streams steered here
    double booked_at_report = 0;
    uint32_t streams = 0;
  };
  double est(const Entry& e) const;
  double delta(const Entry& e, double units_per_s) const;
  uint32_t least_loaded(const std::string& model, uint32_t exclude) const;

  std::map<uint32_t, Entry> servers_;
};

}  // namespace aigw::controller
