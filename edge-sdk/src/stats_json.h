// Per-stream statistics as one JSON object (aigw_edge_stream_stats_json).
#pragma once

#include <string>

#include "aigw/edge.h"

namespace aigw::edge {

/// Field names match aigw_stream_stats; the gateway is {"id","address","port"}.
std::string stats_to_json(const aigw_stream_stats& s);

}  // namespace aigw::edge
