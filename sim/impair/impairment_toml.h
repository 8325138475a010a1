// The `[impairment]` TOML table, shared by aigw-impair's config file and scenarios:
//
//   seed = 7            loss = 0.01          duplicate = 0.001
//   reorder = 0.01      reorder_delay_ms = 2 delay_ms = 5     jitter_ms = 1
//   rate_mbps = 100     queue_kb = 1024      max_packets = 8192 max_packet_bytes = 2048
//   [impairment.burst]  p_good_to_bad = 0.001  p_bad_to_good = 0.3
//                       loss_in_good = 0       loss_in_bad = 1
#pragma once

#include <string>

#include <toml++/toml.h>

#include "sim/impair/impairment.h"

namespace aigw::sim {

/// Fills `out` from `table` (absent keys keep their value). Returns "" or the error,
/// naming the offending key under `path`.
std::string parse_impairment(const toml::table& table, const std::string& path, ImpairmentConfig& out);

}  // namespace aigw::sim
