// aigw-gateway: the data-plane node. See docs/gateway.md.
//
//   aigw-gateway --config /etc/aigw/gateway.toml
//   aigw-gateway --config gw.toml --check-config [--json]
//   aigw-gateway --config gw.toml --backend dpdk --dpdk -- -l 0-1 --vdev=net_pcap0,...
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "gateway/node/config.h"
#include "gateway/node/gateway_node.h"
#include "protocol/log.h"

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitConfig = 78;

nlohmann::json to_json(const aigw::GatewayConfig& c) {
  using aigw::to_string;
  nlohmann::json j;
  j["gateway"] = {{"id", c.gateway_id}, {"backend", c.backend}, {"log_level", c.log_level},
                  {"max_streams", c.max_streams}};
  j["control"] = {{"bind", to_string(c.control_bind)}, {"controller", to_string(c.controller)},
                  {"key_id", c.key_id}, {"have_key", c.have_key}, {"sync_period_ms", c.sync_period_ns / 1e6}};
  j["egress"] = {{"bind", to_string(c.egress_bind)}, {"max_payload", c.egress.max_payload},
                 {"store_units", c.egress.store_units}, {"store_budget_bytes", c.egress.store_budget_bytes}};
  j["metrics"] = {{"enabled", c.metrics_enabled}, {"bind", to_string(c.metrics_bind)}};
  for (const auto& p : c.ports)
    j["ports"].push_back({{"address", p.address}, {"port", p.port}, {"capacity_bps", p.capacity_bps},
                          {"memory_budget_bytes", p.memory_budget_bytes}, {"dpdk_port_id", p.dpdk_port_id}});
  j["streams"] = c.static_streams.size();
  j["eal_args"] = c.eal_args;
  return j;
}

/// What the command line may override in the configuration file.
struct Overrides {
  std::optional<uint32_t> id;
  std::optional<std::string> backend, control_bind, controller, metrics_bind, log_level, egress_bind;
  bool dpdk = false, no_metrics = false;
  std::vector<std::string> eal_args;
};

void add_override_options(CLI::App& app, Overrides& o) {
  app.add_option("--id", o.id, "Override gateway.id");
  app.add_option("--backend", o.backend, "Override gateway.backend")->check(CLI::IsMember({"socket", "dpdk"}));
  app.add_option("--control-bind", o.control_bind, "Override control.bind (a.b.c.d:port)");
  app.add_option("--controller", o.controller, "Override control.controller (a.b.c.d:port)");
  app.add_option("--egress-bind", o.egress_bind, "Override egress.bind (a.b.c.d:port)");
  app.add_option("--metrics-bind", o.metrics_bind, "Override metrics.bind (a.b.c.d:port)");
  app.add_flag("--no-metrics", o.no_metrics, "Do not serve metrics");
  app.add_option("--log-level", o.log_level, "Override gateway.log_level");
  app.add_flag("--dpdk", o.dpdk, "Use the DPDK backend; EAL arguments follow `--`");
  app.add_option("eal_args", o.eal_args, "EAL arguments (after --), replacing dpdk.eal_args");
}

/// Applies every override to the file's configuration; false with `error` naming the
/// last endpoint option that is not a.b.c.d:port. validate_config checks the rest.
bool apply_overrides(const Overrides& o, aigw::GatewayConfig& config, std::string& error) {
  bool ok = true;
  auto endpoint = [&](const std::optional<std::string>& s, aigw::Ipv4Endpoint& out, const char* what) {
    if (s && !aigw::parse_ipv4_endpoint(*s, out)) {
      error = std::string(what) + " must be a.b.c.d:port";
      ok = false;
    }
  };
  if (o.id) config.gateway_id = *o.id;
  if (o.backend) config.backend = *o.backend;
  if (o.dpdk) config.backend = "dpdk";
  if (o.log_level) config.log_level = *o.log_level;
  if (o.no_metrics) config.metrics_enabled = false;
  if (!o.eal_args.empty()) config.eal_args = o.eal_args;
  endpoint(o.control_bind, config.control_bind, "--control-bind");
  endpoint(o.controller, config.controller, "--controller");
  endpoint(o.egress_bind, config.egress_bind, "--egress-bind");
  endpoint(o.metrics_bind, config.metrics_bind, "--metrics-bind");
  return ok;
}

/// --check-config's answer for a valid configuration.
void print_valid(const aigw::GatewayConfig& config, bool json) {
  if (json) {
    auto j = to_json(config);
    j["valid"] = true;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "configuration ok: " << config.ports.size() << " port(s), backend " << config.backend << "\n";
  }
}

/// Runs the node until SIGTERM or SIGINT; the process's exit code.
int run_node(const aigw::GatewayConfig& config) {
  aigw::log::Level level;
  aigw::log::parse_level(config.log_level, level);
  aigw::log::set_level(level);

  aigw::GatewayNode node(config);
  std::string error;
  int exit_code = 0;
  if (!node.start(error, exit_code)) {
    aigw::log::error("start_failed", "error=\"{}\"", error);
    return exit_code;
  }
  node.handle_signals();
  aigw::log::info("started", "gateway_id={} backend={} ports={}", config.gateway_id, config.backend, config.ports.size());
  node.run();
  aigw::log::info("stopped", "gateway_id={}", config.gateway_id);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aigw-gateway: UDP edge access gateway data-plane node"};
  std::string config_path;
  bool check_only = false, json = false;
  Overrides overrides;
  app.add_option("-c,--config", config_path, "TOML configuration file")->required();
  app.add_flag("--check-config", check_only, "Validate the configuration and exit (0 ok, 78 invalid)");
  app.add_flag("--json", json, "With --check-config: print the effective configuration as JSON");
  add_override_options(app, overrides);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }

  aigw::log::set_component("gateway");
  aigw::GatewayConfig config;
  std::string error;
  const bool ok = aigw::load_config(config_path, config, error) && apply_overrides(overrides, config, error) &&
                  aigw::validate_config(config, error);
  if (!ok) {
    aigw::log::error("config_invalid", "file=\"{}\" error=\"{}\"", config_path, error);
    if (check_only && json) std::cout << nlohmann::json{{"valid", false}, {"error", error}}.dump(2) << "\n";
    return kExitConfig;
  }
  if (check_only) {
    print_valid(config, json);
    return 0;
  }
  return run_node(config);
}
