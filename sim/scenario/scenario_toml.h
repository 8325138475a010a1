// Scenario files (TOML). The format, with every key and its default, is documented in
// docs/sim.md; sim/scenarios/ holds the reference scenarios.
#pragma once

#include <string>

#include <toml++/toml.h>

#include "sim/scenario/scenario.h"

namespace aigw::sim {

/// Parses a scenario document. "" or the first error with its key path.
std::string parse_scenario(const toml::table& doc, Scenario& out);
/// Reads and parses a file (syntax errors carry line and column).
std::string load_scenario(const std::string& path, Scenario& out);

}  // namespace aigw::sim
