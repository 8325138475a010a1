// aigw-controller: the control-plane daemon (docs/controller.md).
#include <CLI/CLI.hpp>

#include <cstdio>

#include "controller/core/ctl_commands.h"
#include "controller/daemon/daemon.h"
#include "protocol/log.h"

using namespace aigw;
using namespace aigw::controller;

int main(int argc, char** argv) {
  CLI::App app{"aigw-controller: admission, load prediction, migration and GPU steering on the bypass address"};
  std::string config_path = "/etc/aigw/controller.toml";
  std::string listen, control_socket, http_listen, log_level;
  bool check = false;
  app.add_option("-c,--config", config_path, "TOML configuration; `aigwctl config set` writes back to it");
  app.add_option("--listen", listen, "bypass UDP address host:port (overrides the file)");
  app.add_option("--control-socket", control_socket, "unix socket for aigwctl (overrides the file)");
  app.add_option("--http", http_listen, "HTTP API host:port, \"\" to disable (overrides the file)");
  app.add_option("--log-level", log_level, "debug, info, warn, error, off");
  app.add_flag("--check-config", check, "validate the configuration and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  log::set_component("controller");
  ControllerConfig cfg;
  std::string error;
  if (!load_config(config_path, cfg, error)) {
    log::error("config_invalid", "error=\"{}\"", error);
    return kExitConfig;
  }
  if (!listen.empty()) cfg.listen = listen;
  if (!control_socket.empty()) cfg.control_socket = control_socket;
  if (app.count("--http")) cfg.http_listen = http_listen;
  if (!log_level.empty()) cfg.log_level = log_level;
  log::Level level;
  if (!log::parse_level(cfg.log_level, level)) {
    log::error("config_invalid", "error=\"log_level: {}\"", cfg.log_level);
    return kExitConfig;
  }
  log::set_level(level);
  MasterKeys masters;
  if (!build_master_keys(cfg, masters, error)) {
    log::error("config_invalid", "error=\"{}\"", error);
    return kExitConfig;
  }
  if (check) {
    std::printf("%s: ok\n", config_path.c_str());
    return 0;
  }
  auto daemon = Daemon::create(cfg, config_path, error);
  if (!daemon) {
    log::error("start_failed", "error=\"{}\"", error);
    return kExitUnavailable;
  }
  daemon->run(true);
  return 0;
}
