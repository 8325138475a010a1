#include "gateway/metrics_render.h"

#include <fmt/format.h>

#include <cstring>

namespace aigw {

namespace {

void family_header(const StatInfo& info, std::string& out) {
  out += fmt::format("# HELP aigw_gateway_{} {}\n# TYPE aigw_gateway_{} {}\n", info.metric, info.help, info.metric,
                     info.gauge ? "gauge" : "counter");
}

}  // namespace

void render_data_plane_metrics(const DataPlane& dp, std::string& out) {
  const char* family = nullptr;
  for (size_t s = 0; s < kPortStatCount; ++s) {
    const StatInfo& info = stat_info(static_cast<PortStat>(s));
    if (family == nullptr || std::strcmp(family, info.metric) != 0) {
      family_header(info, out);
      family = info.metric;
    }
    for (size_t p = 0; p < dp.port_count(); ++p) {
      const uint64_t v = dp.port_stats(p).get(s);
      if (info.reason != nullptr)
        out += fmt::format("aigw_gateway_{}{{port=\"{}\",reason=\"{}\"}} {}\n", info.metric, dp.data_endpoint(p).port,
                           info.reason, v);
      else
        out += fmt::format("aigw_gateway_{}{{port=\"{}\"}} {}\n", info.metric, dp.data_endpoint(p).port, v);
    }
  }
  family = nullptr;
  for (size_t s = 0; s < kEgressStatCount; ++s) {
    const StatInfo& info = stat_info(static_cast<EgressStat>(s));
    if (family == nullptr || std::strcmp(family, info.metric) != 0) {
      family_header(info, out);
      family = info.metric;
    }
    for (size_t p = 0; p < dp.pipeline_count(); ++p) {
      const uint64_t v = dp.egress_stats(p).get(s);
      if (info.reason != nullptr)
        out += fmt::format("aigw_gateway_{}{{pipeline=\"{}\",reason=\"{}\"}} {}\n", info.metric, p, info.reason, v);
      else
        out += fmt::format("aigw_gateway_{}{{pipeline=\"{}\"}} {}\n", info.metric, p, v);
    }
  }
  dp.render_backend_metrics(out);
}

}  // namespace aigw
