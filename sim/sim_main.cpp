// aigw-sim: the load simulator. Runs a scenario against the real cluster on loopback
// (live mode: aigw-controller, aigw-gateway, aigw-gpu-emu and edge-SDK devices) and
// writes a report (CSV, JSON, SVG plots).
//
//   aigw-sim run sim/scenarios/demo.toml --out reports/demo
//   aigw-sim run sim/scenarios/paper-400.toml --mode live --scale 0.02 --no-migration
//   aigw-sim check sim/scenarios/scale-100k.toml
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "protocol/log.h"
#include "sim/live/live_run.h"
#include "sim/report/report_writer.h"
#include "sim/scenario/scenario_toml.h"

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitSoftware = 70;
constexpr int kExitConfig = 78;

std::atomic<bool> g_interrupted{false};
void on_signal(int) { g_interrupted = true; }

using namespace aigw::sim;

void print_summary(const RunReport& r, const ReportFiles& files) {
  std::printf("\n%s — %s mode, scale %g, %u periods of %u ms, admission %s, migration %s\n", r.scenario.c_str(),
              r.mode.c_str(), r.scale, r.duration_periods, r.period_ms, r.admission.c_str(),
              r.migration ? "on" : "off");
  std::printf("  streams    %llu requested, %llu admitted, %llu rejected\n", (unsigned long long)r.streams_requested,
              (unsigned long long)r.streams_admitted, (unsigned long long)r.streams_rejected);
  std::printf("  units      %llu sent, %llu verified end to end (%llu after retransmission), %llu lost, %llu corrupt, "
              "%llu in flight\n",
              (unsigned long long)r.units_sent, (unsigned long long)r.units_delivered,
              (unsigned long long)r.units_recovered, (unsigned long long)r.units_lost,
              (unsigned long long)r.units_corrupt, (unsigned long long)r.units_in_flight);
  for (const auto& [reason, n] : r.lost_by_reason)
    std::printf("             lost %-28s %llu\n", reason.c_str(), (unsigned long long)n);
  std::printf("  DPR        %.5f (fragments retransmitted / first transmissions)\n", r.dpr());
  std::printf("  LSD        mean %.4f   migrations %llu   gateway failures %llu\n", r.mean_lsd(),
              (unsigned long long)r.migrations, (unsigned long long)r.gateway_failures);
  for (const auto& a : r.admission_latency)
    std::printf("  admission  %s: %llu requests, mean %.2f ms, p50 %.2f, p95 %.2f, p99 %.2f ms\n", a.algorithm.c_str(),
                (unsigned long long)a.count, a.mean_ms, a.p50_ms, a.p95_ms, a.p99_ms);
  std::printf("\n  %-8s %10s %10s %10s %12s\n", "gateway", "mean L", "max L", "DPR", "streams");
  for (const auto& g : r.gateways)
    std::printf("  %-8u %10.3f %10.3f %10.5f %12u%s\n", g.id, g.mean_load, g.max_load, g.dpr(), g.streams_final,
                g.failed ? "  (failed)" : "");
  std::printf("\n  summary  %s\n  series   %s\n           %s\n", files.summary_json.c_str(), files.gateways_csv.c_str(),
              files.cluster_csv.c_str());
  for (const auto& p : files.plots) std::printf("  plot     %s\n", p.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aigw-sim: load simulator for the aigw cluster"};
  app.require_subcommand(1);
  std::string scenario_path, out_dir, mode, admission, log_level = "warn";
  std::optional<double> scale, loss;
  std::optional<uint32_t> duration;
  std::optional<uint64_t> seed;
  bool no_migration = false, migration = false;
  unsigned threads = 2;
  auto* run = app.add_subcommand("run", "run a scenario and write its report");
  run->add_option("scenario", scenario_path, "scenario TOML")->required()->check(CLI::ExistingFile);
  run->add_option("--out", out_dir, "report directory (default reports/<scenario>)");
  run->add_option("--mode", mode, "live (real processes)")->check(CLI::IsMember({"live"}));
  run->add_option("--scale", scale, "scale factor for unit size, port capacity and memory")->check(CLI::Range(1e-6, 1.0));
  run->add_option("--admission", admission, "lc, adga, iadga or balanced");
  run->add_flag("--no-migration", no_migration, "disable migration");
  run->add_flag("--migration", migration, "enable migration");
  run->add_option("--duration", duration, "periods T")->check(CLI::Range(1u, 10'000'000u));
  run->add_option("--seed", seed, "scenario seed");
  run->add_option("--threads", threads, "device replay threads")->check(CLI::Range(1u, 64u));
  run->add_option("--log-level", log_level, "debug, info, warn, error, off");
  auto* check = app.add_subcommand("check", "validate a scenario and print what it describes");
  check->add_option("scenario", scenario_path, "scenario TOML")->required()->check(CLI::ExistingFile);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  aigw::log::set_component("sim");
  aigw::log::Level level;
  if (!aigw::log::parse_level(log_level, level)) {
    std::fprintf(stderr, "--log-level: unknown level %s\n", log_level.c_str());
    return kExitUsage;
  }
  aigw::log::set_level(level);

  Scenario s;
  if (auto e = load_scenario(scenario_path, s); !e.empty()) {
    std::fprintf(stderr, "%s\n", e.c_str());
    return kExitConfig;
  }
  if (scale) s.scale = *scale;
  if (duration) s.duration_periods = *duration;
  if (seed) s.seed = *seed;
  if (!admission.empty()) s.controller.admission_algorithm = admission;
  if (no_migration) s.controller.migration_enabled = false;
  if (migration) s.controller.migration_enabled = true;
  if (!mode.empty()) s.mode = mode;
  (void)loss;
  std::string error;
  if (!aigw::controller::validate_config(s.controller, error)) {
    std::fprintf(stderr, "controller: %s\n", error.c_str());
    return kExitConfig;
  }
  const Scenario scaled = apply_scale(s);
  if (auto e = validate(scaled); !e.empty()) {
    std::fprintf(stderr, "%s: %s\n", scenario_path.c_str(), e.c_str());
    return kExitConfig;
  }
  if (check->parsed()) {
    std::printf("%s: %s\n  mode %s, scale %g, %u periods of %u ms, %zu gateways, %zu GPU servers, %llu streams, "
                "offered %.1f Mbit/s (scaled)\n",
                s.name.c_str(), s.description.c_str(), s.mode.c_str(), s.scale, s.duration_periods, s.period_ms,
                s.gateways.size(), s.gpus.size(), (unsigned long long)s.total_streams(),
                scaled.nominal_offered_bps() / 1e6);
    return 0;
  }
  if (s.mode != "live") {
    std::fprintf(stderr, "%s: mode '%s' is not available in this build; use --mode live with a --scale\n",
                 scenario_path.c_str(), s.mode.c_str());
    return kExitConfig;
  }
  if (out_dir.empty()) out_dir = "reports/" + s.name;
  std::filesystem::create_directories(out_dir);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  const bool tty = isatty(STDERR_FILENO);
  LiveOptions opt;
  opt.bin_dir = std::filesystem::canonical("/proc/self/exe").parent_path().parent_path().string();
  opt.out_dir = out_dir;
  opt.replay_threads = threads;
  opt.interrupted = &g_interrupted;
  auto last = std::chrono::steady_clock::now() - std::chrono::hours(1);
  opt.progress = [&](const std::string& line) {
    if (tty) {
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
    } else if (std::chrono::steady_clock::now() - last >= std::chrono::seconds(10)) {
      aigw::log::write_line(aigw::log::Level::info, "progress", line);  // one line per 10 s in logs
      std::fprintf(stderr, "%s\n", line.c_str());
      last = std::chrono::steady_clock::now();
    }
  };
  std::fprintf(stderr, "%s: %llu streams, %zu gateways, %zu GPU servers, %u periods, scale %g (live on loopback)\n",
               s.name.c_str(), (unsigned long long)s.total_streams(), s.gateways.size(), s.gpus.size(),
               s.duration_periods, s.scale);
  RunReport report;
  int exit_code = 0;
  const std::string run_error = run_live(scaled, opt, report, exit_code);
  if (tty) std::fprintf(stderr, "\n");
  if (!run_error.empty()) std::fprintf(stderr, "aigw-sim: %s\n", run_error.c_str());
  if (report.streams_requested == 0 && !run_error.empty()) return exit_code;
  report.extra["interrupted"] = g_interrupted.load();
  ReportFiles files;
  if (auto e = write_report(report, out_dir, files); !e.empty()) {
    std::fprintf(stderr, "aigw-sim: %s\n", e.c_str());
    return kExitSoftware;
  }
  print_summary(report, files);
  if (g_interrupted) return 130;
  return exit_code;
}
