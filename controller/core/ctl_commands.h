// The operator command set behind aigwctl: one JSON request in, one JSON response out.
// Requests: {"cmd": "status"|"gateways"|"streams"|"gpus"|"migrations"|"config_get"|
// "config_set"|"drain"|"undrain"|"migrate", "key", "value", "gateway", "stream",
// "dry_run", "limit", "after"}. "streams" answers one page ("limit", "after" and
// "gateway" select it, see StreamPageQuery). Responses: {"ok": true, "result": ...} or {"ok": false, "error": "...",
// "exit": <sysexits code>}.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "controller/core/controller.h"

namespace aigw::controller {

/// sysexits(3) codes the CLI exits with.
enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 64,        // EX_USAGE: unknown command or key, missing argument
  kExitDataErr = 65,      // EX_DATAERR: no such gateway or stream, or not possible now
  kExitUnavailable = 69,  // EX_UNAVAILABLE: controller not reachable
  kExitSoftware = 70,     // EX_SOFTWARE: malformed response
  kExitIoErr = 74,        // EX_IOERR: the config file could not be written
  kExitConfig = 78,       // EX_CONFIG: value rejected
};

/// Runs one operator request against the controller. Changes are written to
/// `config_path` (when not empty) before they take effect, so what runs is what is saved.
nlohmann::json handle_ctl(Controller& controller, const std::string& config_path, const nlohmann::json& request,
                          int64_t now_ns);

}  // namespace aigw::controller
