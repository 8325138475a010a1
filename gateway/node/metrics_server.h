// Prometheus text exposition over HTTP (libmicrohttpd, its own thread): GET /metrics
// returns whatever the render callback produces. The callback runs on the server's
// thread, so it must only read thread-safe state (published counters, snapshots).
#pragma once

#include <functional>
#include <string>

#include "protocol/udp_endpoint.h"

struct MHD_Daemon;

namespace aigw {

class MetricsServer {
 public:
  using Render = std::function<void(std::string& out)>;
  explicit MetricsServer(Render render) : render_(std::move(render)) {}
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  /// Starts listening; false (with `error`) when the address cannot be bound.
  bool start(const Ipv4Endpoint& bind, std::string& error);
  void stop();
  /// The bound address (port 0 resolved).
  Ipv4Endpoint endpoint() const { return bound_; }

 private:
  Render render_;
  MHD_Daemon* daemon_ = nullptr;
  Ipv4Endpoint bound_;
};

}  // namespace aigw
