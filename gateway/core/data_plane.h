// What the bypass agent and the metrics exporter see of a backend: command delivery to
// the pipeline serving a port, published counters and CPU accounting. Implemented by
// the socket and DPDK backends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/core/pipeline_io.h"
#include "gateway/core/pipeline_stats.h"
#include "protocol/prometheus_text.h"
#include "protocol/udp_endpoint.h"

namespace aigw {

class DataPlane {
 public:
  virtual ~DataPlane() = default;
  /// Delivers a command to the pipeline serving cmd.route.data_port. Called on the
  /// agent's thread; backends whose pipelines run elsewhere queue it.
  virtual void post(const StreamCommand& cmd) = 0;

  virtual size_t port_count() const = 0;
  /// The bound address of data port i (a configured port 0 is resolved).
  virtual Ipv4Endpoint data_endpoint(size_t i) const = 0;
  /// Port i's counters, summed over the pipelines serving it.
  virtual PortStatsView port_stats(size_t i) const = 0;
  /// Where forwarded units leave from (and GPU acks/NACKs arrive).
  virtual Ipv4Endpoint egress_endpoint() const = 0;

  virtual size_t pipeline_count() const = 0;
  virtual const PublishedEgressStats& egress_stats(size_t pipeline) const = 0;

  /// Data-plane cores and their cumulative busy/total counts (any unit, same for both).
  virtual size_t core_count() const = 0;
  virtual void cpu_counters(size_t core, uint64_t& busy, uint64_t& total) const = 0;
  virtual size_t core_of_port(size_t port) const = 0;

  /// Backend-level drops (e.g. frame parse errors) as Prometheus text (PromText), appended.
  virtual void render_backend_metrics(std::string& out) const = 0;
};

/// A data plane as the gateway node drives it.
class Backend : public DataPlane {
 public:
  /// Where pipeline events go (the agent), on the agent's thread. Set before start().
  virtual void set_events(PipelineEvents* events) = 0;
  /// Opens ports and starts the pipelines. False with `error` on failure.
  virtual bool start(std::string& error) = 0;
  /// Begins moving packets, once the agent has admitted the configured streams.
  virtual void activate() {}
  /// Stops the pipelines; counters stay readable.
  virtual void stop() = 0;
};

}  // namespace aigw
