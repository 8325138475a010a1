// A minimal blocking HTTP/1.0 GET for scraping the cluster's own endpoints on loopback
// (gateway /metrics, the controller's JSON API). Bounded by a timeout; no redirects,
// no TLS, no chunked encoding (HTTP/1.0 responses end at close).
#pragma once

#include <string>

#include "protocol/udp_endpoint.h"

namespace aigw::sim {

struct HttpResponse {
  int status = 0;
  std::string body;
};

/// GETs `path` from `server`. "" on a complete response (any status), else the error.
std::string http_get(const UdpEndpoint& server, const std::string& path, int timeout_ms, HttpResponse& out);

}  // namespace aigw::sim
