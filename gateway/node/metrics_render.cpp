#include "gateway/node/metrics_render.h"

#include <cstring>
#include <string>

#include "protocol/prometheus_text.h"

namespace aigw {

namespace {

// Writes the families of one stat table: a HELP/TYPE pair where the metric name changes,
// then one sample per `instance` (port or pipeline), labelled `key`="instance id" and,
// for families split by reason, reason="...".
template <class Stat, class Value, class Id>
void render_table(PromText& w, size_t stat_count, size_t instances, const char* key, const Id& id,
                  const Value& value) {
  const char* family = nullptr;
  for (size_t s = 0; s < stat_count; ++s) {
    const StatInfo& info = stat_info(static_cast<Stat>(s));
    if (family == nullptr || std::strcmp(family, info.metric) != 0) {
      w.family(std::string("aigw_gateway_") + info.metric, info.gauge ? PromType::gauge : PromType::counter,
               info.help);
      family = info.metric;
    }
    for (size_t i = 0; i < instances; ++i) {
      const uint64_t v = value(i, s);
      if (info.reason != nullptr)
        w.sample({{key, id(i)}, {"reason", info.reason}}, v);
      else
        w.sample({{key, id(i)}}, v);
    }
  }
}

}  // namespace

void render_data_plane_metrics(const DataPlane& dp, std::string& out) {
  PromText w(out);
  render_table<PortStat>(
      w, kPortStatCount, dp.port_count(), "port", [&](size_t p) { return dp.data_endpoint(p).port; },
      [&](size_t p, size_t s) { return dp.port_stats(p).get(s); });
  render_table<EgressStat>(
      w, kEgressStatCount, dp.pipeline_count(), "pipeline", [](size_t p) { return p; },
      [&](size_t p, size_t s) { return dp.egress_stats(p).get(s); });
  dp.render_backend_metrics(out);
}

}  // namespace aigw
