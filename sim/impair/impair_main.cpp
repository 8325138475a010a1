// aigw-impair: a UDP relay that impairs what passes through it (seeded loss, burst loss,
// reordering, duplication, delay, jitter, rate limit), for links the kernel cannot
// impair (no netem here). Usable on its own:
//
//   aigw-impair --listen 127.0.0.1:9000 --upstream 127.0.0.1:9100 --loss 0.02 --seed 7
//   aigw-impair --config impair.toml --json
#include <sysexits.h>
#include <ev.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "protocol/log.h"
#include "sim/common/toml_fields.h"
#include "sim/impair/impairment_toml.h"
#include "sim/impair/udp_relay.h"

namespace {

using aigw::sim::ImpairCounters;

nlohmann::json counters_json(const ImpairCounters& c) {
  nlohmann::json dropped = nlohmann::json::object();
  for (size_t i = 0; i < static_cast<size_t>(aigw::sim::ImpairDrop::kCount); ++i)
    dropped[aigw::sim::to_string(static_cast<aigw::sim::ImpairDrop>(i))] = c.dropped[i];
  return {{"packets_in", c.packets_in},   {"bytes_in", c.bytes_in},
          {"packets_out", c.packets_out}, {"bytes_out", c.bytes_out},
          {"dropped", dropped},           {"duplicated", c.duplicated},
          {"reordered", c.reordered},     {"bursts", c.bursts}};
}

// Reads listen/upstream/session settings and the [forward]/[reverse] tables.
std::string load_config(const std::string& path, aigw::sim::RelayConfig& cfg) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return fmt::format("{}: {}", path, e.description());
  }
  aigw::sim::TomlFields f(root, "");
  std::string listen, upstream;
  if (f.text("listen", listen) && !listen.empty()) {
    if (auto e = aigw::parse_endpoint(listen, cfg.listen); !e.empty()) return "listen: " + e;
  }
  if (f.text("upstream", upstream) && !upstream.empty()) {
    if (auto e = aigw::parse_endpoint(upstream, cfg.upstream); !e.empty()) return "upstream: " + e;
  }
  f.boolean("share_port", cfg.share_listen_port);
  std::string nat;
  if (f.text("source_nat", nat) && !nat.empty())
    if (auto e = aigw::sim::parse_source_nat(nat, cfg); !e.empty()) return "source_nat: " + e;
  double idle_s = static_cast<double>(cfg.session_idle_ns) / 1e9;
  if (f.number("session_idle_s", idle_s, 0.1, 86400)) cfg.session_idle_ns = static_cast<int64_t>(idle_s * 1e9);
  f.unsigned_int("max_sessions", cfg.max_sessions, 1, 65535);
  if (const toml::table* t = f.table("forward"))
    if (auto e = aigw::sim::parse_impairment(*t, "forward", cfg.forward); !e.empty()) return e;
  if (const toml::table* t = f.table("reverse"))
    if (auto e = aigw::sim::parse_impairment(*t, "reverse", cfg.reverse); !e.empty()) return e;
  return f.finish();
}

// The command line: each value and, for those that override the config file, its
// option (count(): given or not).
struct CommandLine {
  std::string config_path, listen = "127.0.0.1:0", upstream, log_level = "info";
  double loss = 0, duplicate = 0, reorder = 0, reorder_delay_ms = 2, delay_ms = 0, jitter_ms = 0,
         rate_mbps = 0, duration_s = 0, stats_s = 10;
  double burst_enter = 0, burst_exit = 1, burst_loss_good = 0, burst_loss_bad = 1;
  uint64_t seed = 1;
  bool json = false;
  CLI::Option *o_listen = nullptr, *o_upstream = nullptr, *o_seed = nullptr, *o_loss = nullptr, *o_be = nullptr,
              *o_bx = nullptr, *o_blg = nullptr, *o_blb = nullptr, *o_dup = nullptr, *o_reo = nullptr,
              *o_rd = nullptr, *o_delay = nullptr, *o_jit = nullptr, *o_rate = nullptr;
};

void add_options(CLI::App& app, CommandLine& c) {
  app.add_option("-c,--config", c.config_path, "TOML file (listen, upstream, [forward], [reverse])")
      ->check(CLI::ExistingFile);
  c.o_listen = app.add_option("--listen", c.listen, "address:port clients send to (port 0: any)");
  c.o_upstream = app.add_option("--upstream", c.upstream, "address:port packets are relayed to");
  c.o_seed = app.add_option("--seed", c.seed, "random seed of the forward direction");
  c.o_loss = app.add_option("--loss", c.loss, "independent loss probability")->check(CLI::Range(0.0, 1.0));
  c.o_be = app.add_option("--burst-enter", c.burst_enter, "Gilbert-Elliott P(Good->Bad) per packet")
               ->check(CLI::Range(0.0, 1.0));
  c.o_bx = app.add_option("--burst-exit", c.burst_exit, "Gilbert-Elliott P(Bad->Good) per packet")
               ->check(CLI::Range(0.0, 1.0));
  c.o_blg = app.add_option("--burst-loss-good", c.burst_loss_good, "loss probability in Good")
                ->check(CLI::Range(0.0, 1.0));
  c.o_blb = app.add_option("--burst-loss-bad", c.burst_loss_bad, "loss probability in Bad")
                ->check(CLI::Range(0.0, 1.0));
  c.o_dup = app.add_option("--duplicate", c.duplicate, "duplication probability")->check(CLI::Range(0.0, 1.0));
  c.o_reo = app.add_option("--reorder", c.reorder, "probability a packet is held back")
                ->check(CLI::Range(0.0, 1.0));
  c.o_rd = app.add_option("--reorder-delay-ms", c.reorder_delay_ms, "hold-back of reordered packets")
               ->check(CLI::Range(0.0, 60000.0));
  c.o_delay = app.add_option("--delay-ms", c.delay_ms, "one-way delay")->check(CLI::Range(0.0, 60000.0));
  c.o_jit = app.add_option("--jitter-ms", c.jitter_ms, "extra delay uniform in [0, jitter]")
                ->check(CLI::Range(0.0, 60000.0));
  c.o_rate = app.add_option("--rate-mbps", c.rate_mbps, "link rate limit (0: none)")->check(CLI::Range(0.0, 1e6));
  app.add_option("--duration", c.duration_s, "stop after this many seconds (0: until SIGINT/SIGTERM)")
      ->check(CLI::Range(0.0, 1e7));
  app.add_option("--stats-interval", c.stats_s, "seconds between stats log lines (0: none)")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_flag("--json", c.json, "print the final counters as JSON on stdout");
  app.add_option("--log-level", c.log_level, "debug, info, warn, error, off");
}

// The config file, then the endpoints given on the command line; 0 or the exit code.
int configure_endpoints(const CommandLine& c, aigw::sim::RelayConfig& cfg) {
  if (!c.config_path.empty()) {
    if (auto e = load_config(c.config_path, cfg); !e.empty()) {
      aigw::log::error("config_invalid", "error=\"{}\"", e);
      return EX_CONFIG;
    }
  }
  // Flags given on the command line override the file.
  if (c.o_listen->count() || !cfg.listen.valid())
    if (auto e = aigw::parse_endpoint(c.listen, cfg.listen); !e.empty()) {
      aigw::log::error("usage", "error=\"--listen {}\"", e);
      return EX_USAGE;
    }
  if (c.o_upstream->count())
    if (auto e = aigw::parse_endpoint(c.upstream, cfg.upstream); !e.empty()) {
      aigw::log::error("usage", "error=\"--upstream {}\"", e);
      return EX_USAGE;
    }
  if (!cfg.upstream.valid()) {
    aigw::log::error("usage", "error=\"an upstream is required (--upstream or the config file)\"");
    return EX_USAGE;
  }
  return 0;
}

// The impairment flags given override the file's [forward]; 0 or the exit code.
int configure_forward(const CommandLine& c, aigw::sim::ImpairmentConfig& fw) {
  if (c.o_seed->count()) fw.seed = c.seed;
  if (c.o_loss->count()) fw.loss = c.loss;
  if (c.o_be->count()) fw.burst.p_good_to_bad = c.burst_enter;
  if (c.o_bx->count()) fw.burst.p_bad_to_good = c.burst_exit;
  if (c.o_blg->count()) fw.burst.loss_in_good = c.burst_loss_good;
  if (c.o_blb->count()) fw.burst.loss_in_bad = c.burst_loss_bad;
  if (c.o_dup->count()) fw.duplicate = c.duplicate;
  if (c.o_reo->count()) fw.reorder = c.reorder;
  if (c.o_rd->count()) fw.reorder_delay_ns = static_cast<int64_t>(c.reorder_delay_ms * 1e6);
  if (c.o_delay->count()) fw.delay_ns = static_cast<int64_t>(c.delay_ms * 1e6);
  if (c.o_jit->count()) fw.jitter_ns = static_cast<int64_t>(c.jitter_ms * 1e6);
  if (c.o_rate->count()) fw.rate_bps = c.rate_mbps * 1e6;
  if (auto e = fw.validate(); !e.empty()) {
    aigw::log::error("config_invalid", "error=\"forward: {}\"", e);
    return EX_CONFIG;
  }
  return 0;
}

// The final counters: a log line, and with --json all of them on stdout.
void report_counters(const aigw::sim::UdpRelay& relay, const aigw::sim::RelayConfig& cfg, bool json) {
  const auto& rc = relay.counters();
  aigw::log::info("relay_stopped", "sessions_opened={} sessions_rejected={} stale={} send_errors={}",
                  rc.sessions_opened, rc.sessions_rejected, rc.stale_packets, rc.send_errors);
  if (!json) return;
  nlohmann::json out = {{"listen", relay.listen_endpoint().to_string()},
                        {"upstream", cfg.upstream.to_string()},
                        {"forward", counters_json(relay.forward_counters())},
                        {"reverse", counters_json(relay.reverse_counters())},
                        {"sessions_opened", rc.sessions_opened},
                        {"sessions_expired", rc.sessions_expired},
                        {"sessions_rejected", rc.sessions_rejected},
                        {"stale_packets", rc.stale_packets},
                        {"truncated", rc.truncated},
                        {"send_errors", rc.send_errors},
                        {"recv_errors", rc.recv_errors}};
  std::cout << out.dump(2) << '\n';
}

// Relays until SIGINT, SIGTERM or --duration, with a stats line every --stats-interval,
// then reports the counters; 0 or the exit code.
int run_relay(const CommandLine& c, const aigw::sim::RelayConfig& cfg) {
  struct ev_loop* loop = ev_default_loop(EVFLAG_AUTO);
  aigw::sim::UdpRelay relay(loop, cfg);
  if (auto e = relay.start(); !e.empty()) {
    aigw::log::error("start_failed", "error=\"{}\"", e);
    return EX_UNAVAILABLE;
  }
  const auto& fw = cfg.forward;
  aigw::log::info("relay_started", "listen={} upstream={} loss={} burst_loss={} reorder={} duplicate={} "
                  "delay_ms={} rate_mbps={} seed={}",
                  relay.listen_endpoint().to_string(), cfg.upstream.to_string(), fw.loss,
                  fw.burst.stationary_loss(), fw.reorder, fw.duplicate,
                  static_cast<double>(fw.delay_ns) / 1e6, fw.rate_bps / 1e6, fw.seed);

  ev_now_update(loop);  // set-up took time; timers count from now
  auto on_signal = [](struct ev_loop* l, ev_signal*, int) { ev_break(l, EVBREAK_ALL); };
  ev_signal sigint, sigterm;
  ev_signal_init(&sigint, on_signal, SIGINT);
  ev_signal_init(&sigterm, on_signal, SIGTERM);
  ev_signal_start(loop, &sigint);
  ev_signal_start(loop, &sigterm);
  ev_timer stop_timer;
  ev_timer_init(&stop_timer, [](struct ev_loop* l, ev_timer*, int) { ev_break(l, EVBREAK_ALL); },
                c.duration_s, 0.);
  if (c.duration_s > 0) ev_timer_start(loop, &stop_timer);
  ev_timer stats_timer;
  ev_timer_init(&stats_timer, [](struct ev_loop*, ev_timer* w, int) {
    const auto* r = static_cast<const aigw::sim::UdpRelay*>(w->data);
    const auto& f = r->forward_counters();
    const auto& b = r->reverse_counters();
    aigw::log::info("relay_stats", "sessions={} fwd_in={} fwd_out={} fwd_dropped={} fwd_reordered={} "
                    "fwd_duplicated={} rev_in={} rev_out={} rev_dropped={}",
                    r->sessions(), f.packets_in, f.packets_out, f.dropped_total(), f.reordered,
                    f.duplicated, b.packets_in, b.packets_out, b.dropped_total());
  }, c.stats_s, c.stats_s);
  stats_timer.data = &relay;
  if (c.stats_s > 0) ev_timer_start(loop, &stats_timer);

  ev_run(loop, 0);

  report_counters(relay, cfg, c.json);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aigw-impair: UDP relay with seeded loss, burst loss, reordering, duplication, "
               "delay and rate limit"};
  CommandLine c;
  add_options(app, c);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : EX_USAGE;
  }
  aigw::log::set_component("impair");
  aigw::log::Level lvl;
  if (!aigw::log::parse_level(c.log_level, lvl)) {
    std::fprintf(stderr, "--log-level: unknown level '%s'\n", c.log_level.c_str());
    return EX_USAGE;
  }
  aigw::log::set_level(lvl);

  aigw::sim::RelayConfig cfg;
  if (const int rc = configure_endpoints(c, cfg); rc != 0) return rc;
  if (const int rc = configure_forward(c, cfg.forward); rc != 0) return rc;
  return run_relay(c, cfg);
}
