// Renders a data plane's published counters as Prometheus text.
#pragma once

#include <string>

#include "gateway/core/data_plane.h"

namespace aigw {

/// Appends the port and egress families of every pipeline of `dp` to `out`.
void render_data_plane_metrics(const DataPlane& dp, std::string& out);

}  // namespace aigw
