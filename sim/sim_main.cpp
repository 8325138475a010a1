// aigw-sim: the load simulator. Runs a scenario against the real cluster on loopback
// (live mode: aigw-controller, aigw-gateway, aigw-gpu-emu and edge-SDK devices) and
// writes a report (CSV, JSON, SVG plots).
//
//   aigw-sim run sim/scenarios/demo.toml --out reports/demo
//   aigw-sim run sim/scenarios/paper-400.toml --mode live --scale 0.02 --no-migration
//   aigw-sim check sim/scenarios/scale-100k.toml
#include <sysexits.h>
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
#include "sim/discrete/admission_timing.h"
#include "sim/discrete/discrete_run.h"
#include "sim/report/svg_chart.h"
#include "sim/live/live_run.h"
#include "sim/report/report_writer.h"
#include "sim/scenario/scenario_toml.h"

namespace {

std::atomic<bool> g_interrupted{false};
void on_signal(int) { g_interrupted = true; }

using namespace aigw::sim;

void print_summary(const RunReport& r, const ReportFiles& files) {
  std::printf("\n%s — %s mode, scale %g, %u periods of %u ms, admission %s, migration %s\n", r.scenario.c_str(),
              r.mode.c_str(), r.scale, r.duration_periods, r.period_ms, r.admission.c_str(),
              r.migration ? "on" : "off");
  std::printf("  streams    %llu requested, %llu admitted, %llu rejected\n", (unsigned long long)r.streams_requested,
              (unsigned long long)r.streams_admitted, (unsigned long long)r.streams_rejected);
  const std::string delivered =
      r.mode == "live" ? fmt::format("verified end to end ({} after a retransmission to the GPU)", r.units_recovered)
                       : "delivered (modelled)";
  std::printf("  units      %llu sent, %llu %s, %llu lost, %llu corrupt, %llu in flight\n",
              (unsigned long long)r.units_sent, (unsigned long long)r.units_delivered, delivered.c_str(),
              (unsigned long long)r.units_lost, (unsigned long long)r.units_corrupt,
              (unsigned long long)r.units_in_flight);
  for (const auto& [reason, n] : r.lost_by_reason)
    std::printf("             lost %-28s %llu\n", reason.c_str(), (unsigned long long)n);
  std::printf("  DPR        %.5f (fragments retransmitted / first transmissions)\n", r.dpr());
  if (const auto it = r.extra.find("gateway_receive"); it != r.extra.end())
    std::printf("  gateways   %llu NACKs to devices (%llu fragments), %llu retransmissions received, "
                "%llu datagrams from a wrong source\n",
                (unsigned long long)it->value("nacks_sent", 0ull), (unsigned long long)it->value("nacked_fragments", 0ull),
                (unsigned long long)it->value("retransmissions_received", 0ull),
                (unsigned long long)it->value("dropped_wrong_source", 0ull));
  std::printf("  LSD        mean %.4f   migrations %llu   gateway failures %llu\n", r.mean_lsd(),
              (unsigned long long)r.migrations, (unsigned long long)r.gateway_failures);
  for (const auto& a : r.admission_latency)
    std::printf("  admission  %s: %llu requests, mean %.2f ms, p50 %.2f, p95 %.2f, p99 %.2f ms\n", a.algorithm.c_str(),
                (unsigned long long)a.count, a.mean_ms, a.p50_ms, a.p95_ms, a.p99_ms);
  std::printf("\n  %-8s %10s %10s %10s %12s %12s\n", "gateway", "mean L", "max L", "DPR", "peak streams",
              "at the end");
  for (const auto& g : r.gateways)
    std::printf("  %-8u %10.3f %10.3f %10.5f %12u %12u%s\n", g.id, g.mean_load, g.max_load, g.dpr(), g.streams_peak,
                g.streams_final, g.failed ? "  (failed)" : "");
  std::printf("\n  summary  %s\n  series   %s\n           %s\n", files.summary_json.c_str(), files.gateways_csv.c_str(),
              files.cluster_csv.c_str());
  for (const auto& p : files.plots) std::printf("  plot     %s\n", p.c_str());
  std::fflush(stdout);
}

// Every subcommand's options; each subcommand fills its own.
struct CommandLine {
  std::string scenario_path, out_dir, mode, admission, hop, log_level = "warn";
  std::optional<double> scale, loss;
  std::optional<uint32_t> duration;
  std::optional<uint64_t> seed;
  bool no_migration = false, migration = false;
  unsigned threads = 2;
  std::vector<uint32_t> requests{100, 200, 300, 400, 500};
  std::vector<std::string> algorithms{"lc", "adga", "iadga", "balanced"};
  uint32_t repeat = 20;
};

void add_run_command(CLI::App& app, CommandLine& c) {
  auto* run = app.add_subcommand("run", "run a scenario and write its report");
  run->add_option("scenario", c.scenario_path, "scenario TOML")->required()->check(CLI::ExistingFile);
  run->add_option("--out", c.out_dir, "report directory (default reports/<scenario>)");
  run->add_option("--mode", c.mode, "live (real processes) or discrete (event simulation, real controller core)")
      ->check(CLI::IsMember({"live", "discrete"}));
  run->add_option("--scale", c.scale, "scale factor for unit size, port capacity and memory")->check(CLI::Range(1e-6, 1.0));
  run->add_option("--admission", c.admission, "lc, adga, iadga or balanced");
  run->add_flag("--no-migration", c.no_migration, "disable migration");
  run->add_flag("--migration", c.migration, "enable migration");
  run->add_option("--duration", c.duration, "periods T")->check(CLI::Range(1u, 10'000'000u));
  run->add_option("--seed", c.seed, "scenario seed");
  run->add_option("--loss", c.loss, "independent loss on the impaired hop (live: through aigw-impair relays)")
      ->check(CLI::Range(0.0, 1.0));
  run->add_option("--hop", c.hop, "the hop --loss and [impairment] apply to in live mode: device (device -> gateway, "
                                  "the default), gpu (gateway -> GPU server) or both")
      ->check(CLI::IsMember({"device", "gpu", "both"}));
  run->add_option("--threads", c.threads, "device replay threads")->check(CLI::Range(1u, 64u));
  run->add_option("--log-level", c.log_level, "debug, info, warn, error, off");
}

CLI::App* add_admission_command(CLI::App& app, CommandLine& c) {
  auto* adm = app.add_subcommand("admission", "time the admission algorithms on N simultaneous requests (Table 3)");
  adm->add_option("scenario", c.scenario_path, "scenario TOML (cluster and stream demand)")->required()->check(CLI::ExistingFile);
  adm->add_option("--requests", c.requests, "numbers of simultaneous requests")->delimiter(',');
  adm->add_option("--algorithms", c.algorithms, "algorithms to compare")->delimiter(',');
  adm->add_option("--repeat", c.repeat, "repetitions per cell")->check(CLI::Range(1u, 100000u));
  adm->add_option("--out", c.out_dir, "directory for admission.json and admission.svg");
  return adm;
}

CLI::App* add_check_command(CLI::App& app, CommandLine& c) {
  auto* check = app.add_subcommand("check", "validate a scenario and print what it describes");
  check->add_option("scenario", c.scenario_path, "scenario TOML")->required()->check(CLI::ExistingFile);
  return check;
}

// The scenario file with the command line's overrides; 0 or the exit code.
int load_with_overrides(const CommandLine& c, Scenario& s) {
  if (auto e = load_scenario(c.scenario_path, s); !e.empty()) {
    std::fprintf(stderr, "%s\n", e.c_str());
    return EX_CONFIG;
  }
  if (c.scale) s.scale = *c.scale;
  if (c.duration) s.duration_periods = *c.duration;
  if (c.seed) s.seed = *c.seed;
  if (!c.admission.empty()) s.controller.admission_algorithm = c.admission;
  if (c.no_migration) s.controller.migration_enabled = false;
  if (c.migration) s.controller.migration_enabled = true;
  if (!c.mode.empty()) s.mode = c.mode;
  if (c.loss) {
    s.impaired = true;
    s.impairment.loss = *c.loss;
  }
  if (!c.hop.empty()) parse_impaired_hop(c.hop, s.impaired_hop);
  std::string error;
  if (!aigw::controller::validate_config(s.controller, error)) {
    std::fprintf(stderr, "controller: %s\n", error.c_str());
    return EX_CONFIG;
  }
  return 0;
}

// `admission`: a table of decision times per algorithm and request count, and with
// --out the same as JSON and a bar chart.
int time_admission_algorithms(const CommandLine& c, const Scenario& s, const Scenario& scaled) {
  for (const auto& a : c.algorithms)
    if (!aigw::controller::is_admission_name(a)) {
      std::fprintf(stderr, "--algorithms: unknown algorithm %s\n", a.c_str());
      return EX_USAGE;
    }
  const auto rows = time_admission(scaled, c.requests, c.algorithms, c.repeat);
  nlohmann::json j = nlohmann::json::array();
  BarChart chart;
  chart.title = fmt::format("Admission decision time per window ({})", s.name);
  chart.x_label = "simultaneous requests";
  chart.y_label = "mean ms per window";
  chart.series = c.algorithms;
  std::printf("%-10s", "requests");
  for (const auto& a : c.algorithms) std::printf(" %22s", (a + " ms (adm%, max/mean)").c_str());
  std::printf("\n");
  for (const auto& r : rows) {
    std::printf("%-10u", r.requests);
    chart.categories.push_back(std::to_string(r.requests));
    chart.values.emplace_back();
    for (size_t i = 0; i < r.per_algorithm.size(); ++i) {
      const auto& st = r.per_algorithm[i];
      std::printf(" %9.4f (%3.0f%%, %5.3f)", st.mean_ms, 100 * r.admitted[i], r.max_over_mean[i]);
      chart.values.back().push_back(st.mean_ms);
      j.push_back({{"requests", r.requests}, {"algorithm", st.algorithm}, {"mean_ms", st.mean_ms},
                   {"p50_ms", st.p50_ms}, {"p95_ms", st.p95_ms}, {"p99_ms", st.p99_ms},
                   {"admitted_fraction", r.admitted[i]}, {"max_over_mean_load", r.max_over_mean[i]},
                   {"repeat", c.repeat}});
    }
    std::printf("\n");
  }
  if (c.out_dir.empty()) return 0;
  std::filesystem::create_directories(c.out_dir);
  if (auto e = write_text_file(c.out_dir + "/admission.json", j.dump(2) + "\n"); !e.empty()) return EX_SOFTWARE;
  if (auto e = write_text_file(c.out_dir + "/admission.svg", render_svg(chart)); !e.empty()) return EX_SOFTWARE;
  std::printf("\n  %s/admission.json\n  %s/admission.svg\n", c.out_dir.c_str(), c.out_dir.c_str());
  return 0;
}

// `check`: what the scenario describes.
int print_scenario(const Scenario& s, const Scenario& scaled) {
  std::printf("%s: %s\n  mode %s, scale %g, %u periods of %u ms, %zu gateways, %zu GPU servers, %llu streams, "
              "offered %.1f Mbit/s (scaled)\n",
              s.name.c_str(), s.description.c_str(), s.mode.c_str(), s.scale, s.duration_periods, s.period_ms,
              s.gateways.size(), s.gpus.size(), (unsigned long long)s.total_streams(),
              scaled.nominal_offered_bps() / 1e6);
  return 0;
}

LiveOptions live_options(const std::string& out_dir, unsigned threads, bool tty) {
  LiveOptions opt;
  opt.bin_dir = std::filesystem::canonical("/proc/self/exe").parent_path().parent_path().string();
  opt.out_dir = out_dir;
  opt.replay_threads = threads;
  opt.interrupted = &g_interrupted;
  auto last = std::chrono::steady_clock::now() - std::chrono::hours(1);
  // A terminal gets one live status line, rewritten in place; a log (stderr not a
  // terminal) gets one structured line per 10 s instead, never both.
  opt.progress = [tty, last](const std::string& line) mutable {
    if (tty) {
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
    } else if (std::chrono::steady_clock::now() - last >= std::chrono::seconds(10)) {
      aigw::log::write_line(aigw::log::Level::info, "progress", fmt::format("status=\"{}\"", line));
      last = std::chrono::steady_clock::now();
    }
  };
  return opt;
}

// `run`: the scenario in its mode, then its report and summary; Ctrl-C ends it early
// with what was gathered.
int run_scenario(const CommandLine& c, const Scenario& s, const Scenario& scaled) {
  const std::string out_dir = c.out_dir.empty() ? "reports/" + s.name : c.out_dir;
  std::filesystem::create_directories(out_dir);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  const bool tty = isatty(STDERR_FILENO);
  const LiveOptions opt = live_options(out_dir, c.threads, tty);
  std::fprintf(stderr, "%s: %llu streams, %zu gateways, %zu GPU servers, %u periods, scale %g (%s)\n",
               s.name.c_str(), (unsigned long long)s.total_streams(), s.gateways.size(), s.gpus.size(),
               s.duration_periods, s.scale, s.mode == "live" ? "live on loopback" : "discrete-event");
  RunReport report;
  int exit_code = 0;
  std::string run_error;
  if (s.mode == "discrete") {
    run_error = run_discrete(scaled, DiscreteOptions{}, report);
    if (!run_error.empty()) exit_code = EX_SOFTWARE;
  } else {
    run_error = run_live(scaled, opt, report, exit_code);
  }
  if (tty) std::fprintf(stderr, "\n");
  if (!run_error.empty()) std::fprintf(stderr, "aigw-sim: %s\n", run_error.c_str());
  if (report.streams_requested == 0 && !run_error.empty()) return exit_code;
  report.extra["interrupted"] = g_interrupted.load();
  ReportFiles files;
  if (auto e = write_report(report, out_dir, files); !e.empty()) {
    std::fprintf(stderr, "aigw-sim: %s\n", e.c_str());
    return EX_SOFTWARE;
  }
  print_summary(report, files);
  if (g_interrupted) return 130;
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aigw-sim: load simulator for the aigw cluster"};
  app.require_subcommand(1);
  CommandLine c;
  add_run_command(app, c);
  auto* adm = add_admission_command(app, c);
  auto* check = add_check_command(app, c);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : EX_USAGE;
  }
  aigw::log::set_component("sim");
  aigw::log::Level level;
  if (!aigw::log::parse_level(c.log_level, level)) {
    std::fprintf(stderr, "--log-level: unknown level %s\n", c.log_level.c_str());
    return EX_USAGE;
  }
  aigw::log::set_level(level);

  Scenario s;
  if (const int rc = load_with_overrides(c, s); rc != 0) return rc;
  const Scenario scaled = apply_scale(s);
  if (auto e = validate(scaled); !e.empty()) {
    std::fprintf(stderr, "%s: %s\n", c.scenario_path.c_str(), e.c_str());
    return EX_CONFIG;
  }
  if (adm->parsed()) return time_admission_algorithms(c, s, scaled);
  if (check->parsed()) return print_scenario(s, scaled);
  return run_scenario(c, s, scaled);
}
