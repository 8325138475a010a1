#include "sim/live/live_run.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "protocol/log.h"
#include "sim/common/mono_clock.h"
#include "sim/live/cluster_config.h"
#include "sim/live/http_get.h"
#include "sim/live/process_group.h"
#include "sim/live/prom_text.h"
#include "sim/live/replayer.h"

namespace aigw::sim {

namespace {

constexpr int kExitSoftware = 70;
constexpr int kExitUnavailable = 69;

using Json = nlohmann::json;

Endpoint loopback(uint16_t port) {
  Endpoint e;
  make_endpoint("127.0.0.1", port, e);
  return e;
}

std::string get_json(uint16_t port, const std::string& path, Json& out) {
  HttpResponse r;
  if (auto e = http_get(loopback(port), path, 2000, r); !e.empty()) return e;
  if (r.status != 200) return fmt::format("{} answered {}", path, r.status);
  out = Json::parse(r.body, nullptr, false);
  return out.is_discarded() ? path + ": not JSON" : "";
}

// Polls `ready` every 50 ms until it holds, a child dies, or the timeout passes.
std::string wait_for(const char* what, ProcessGroup& pg, int timeout_ms, const std::function<bool()>& ready) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& x : pg.reap())
      return fmt::format("{} exited while waiting for {} (code {}, signal {}); see its log", x.name, what,
                         x.exit_code, x.signal);
    if (ready()) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return fmt::format("timed out waiting for {}", what);
}

struct GatewayScrape {
  std::map<std::string, double> lost_by_reason;
  double units_completed = 0;
  double nacks_sent = 0;            // NACK messages to devices
  double nacked_fragments = 0;      // fragments named in them
  double retransmissions = 0;       // retransmitted fragments received
  double dropped_wrong_source = 0;  // data from a source the stream was not admitted with
  bool ok = false;
};

GatewayScrape scrape_gateway(uint16_t metrics_port) {
  GatewayScrape g;
  HttpResponse r;
  if (!http_get(loopback(metrics_port), "/metrics", 2000, r).empty() || r.status != 200) return g;
  const auto samples = parse_prom_text(r.body);
  for (const auto& s : samples)
    if (s.name == "aigw_gateway_port_units_lost_total") g.lost_by_reason[s.labels.count("reason") ? s.labels.at("reason") : "unknown"] += s.value;
  g.units_completed = prom_sum(samples, "aigw_gateway_port_units_completed_total");
  g.nacks_sent = prom_sum(samples, "aigw_gateway_port_nacks_sent_total");
  g.nacked_fragments = prom_sum(samples, "aigw_gateway_port_nacked_fragments_total");
  g.retransmissions = prom_sum(samples, "aigw_gateway_port_retransmissions_received_total");
  for (const auto& s : samples)
    if (s.name == "aigw_gateway_port_dropped_datagrams_total" && s.labels.count("reason") &&
        s.labels.at("reason") == "wrong_source")
      g.dropped_wrong_source += s.value;
  g.ok = true;
  return g;
}

}  // namespace

std::string run_live(const Scenario& s, const LiveOptions& opt, RunReport& report, int& exit_code) {
  exit_code = 0;
  describe_run(s, "live", report);
  const auto wall0 = std::chrono::steady_clock::now();

  const std::string controller_bin = opt.bin_dir + "/controller/aigw-controller";
  const std::string gateway_bin = opt.bin_dir + "/gateway/aigw-gateway";
  const std::string gpu_bin = opt.bin_dir + "/sim/aigw-gpu-emu";
  const std::string impair_bin = opt.bin_dir + "/sim/aigw-impair";
  std::string missing;
  for (const auto& b : {controller_bin, gateway_bin, gpu_bin, impair_bin})
    if (access(b.c_str(), X_OK) != 0) missing += (missing.empty() ? "" : ", ") + b;
  if (!missing.empty()) {
    exit_code = kExitUnavailable;
    return "not built: " + missing;
  }

  if (s.impairs_device_hop() && s.total_streams() > kMaxAddressedDevices) {
    exit_code = kExitSoftware;
    return fmt::format("an impaired device hop gives each device its own loopback addresses: at most {} streams",
                       kMaxAddressedDevices);
  }
  ClusterFiles files;
  const std::string run_dir = opt.out_dir + "/cluster";
  const std::string log_dir = opt.out_dir + "/logs";
  std::filesystem::create_directories(log_dir);
  if (auto e = write_cluster_files(s, run_dir, files); !e.empty()) {
    exit_code = kExitSoftware;
    return e;
  }

  ProcessGroup pg;
  std::string error;
  auto fail = [&](std::string e) {
    exit_code = kExitUnavailable;
    pg.stop(std::chrono::milliseconds(2000));
    return e;
  };
  if (pg.spawn({"controller", {controller_bin, "--config", files.controller_config}, log_dir + "/controller.log"},
               error) < 0)
    return fail(error);
  Json status;
  if (auto e = wait_for("the controller's HTTP API", pg, 10'000,
                        [&] { return get_json(files.controller_http_port, "/api/v1/status", status).empty(); });
      !e.empty())
    return fail(e);

  std::map<uint32_t, pid_t> gateway_pid;
  for (const auto& g : files.gateways) {
    const pid_t pid = pg.spawn({fmt::format("gateway-{}", g.id), {gateway_bin, "--config", g.config},
                                fmt::format("{}/gateway-{}.log", log_dir, g.id)},
                               error);
    if (pid < 0) return fail(error);
    gateway_pid[g.id] = pid;
  }
  for (const auto& g : files.gateways)
    for (size_t p = 0; p < g.relay_configs.size(); ++p)
      if (pg.spawn({fmt::format("impair-gateway-{}-{}", g.id, p),
                    {impair_bin, "--config", g.relay_configs[p], "--stats-interval", "0", "--log-level", "warn"},
                    fmt::format("{}/impair-gateway-{}-{}.log", log_dir, g.id, p)},
                   error) < 0)
        return fail(error);
  for (const auto& g : files.gpus)
    if (g.relay_port &&
        pg.spawn({fmt::format("impair-gpu-{}", g.id), {impair_bin, "--config", g.relay_config, "--stats-interval", "0"},
                  fmt::format("{}/impair-gpu-{}.log", log_dir, g.id)},
                 error) < 0)
      return fail(error);
  for (const auto& g : files.gpus)
    if (pg.spawn({fmt::format("gpu-{}", g.id), {gpu_bin, "--config", g.config}, fmt::format("{}/gpu-{}.log", log_dir, g.id)},
                 error) < 0)
      return fail(error);
  if (auto e = wait_for("gateways and GPU servers to register", pg, 15'000,
                        [&] {
                          if (!get_json(files.controller_http_port, "/api/v1/status", status).empty()) return false;
                          return status.value("gateways_live", 0) == int(files.gateways.size()) &&
                                 status.value("gpus", 0) == int(files.gpus.size()) && !status.value("warming_up", true);
                        });
      !e.empty())
    return fail(e);
  log::info("cluster_ready", "gateways={} gpus={} dir={}", files.gateways.size(), files.gpus.size(), run_dir);

  ReplayConfig rc;
  rc.controller = fmt::format("127.0.0.1:{}", files.controller_port);
  rc.key = files.key;
  rc.threads = opt.replay_threads;
  rc.drain_ns = opt.drain_ns;
  rc.per_device_addresses = s.impairs_device_hop();
  const int64_t period_ns = int64_t{s.period_ms} * 1'000'000;
  rc.t0_ns = mono_now_ns() + 100'000'000;
  Replayer replayer(s, rc);
  replayer.start();

  // Observe the cluster once per period until the replay (and its drain) is over.
  std::set<uint32_t> failed;
  std::string run_error;
  uint32_t period = 0;
  int64_t next_ns = rc.t0_ns + period_ns;
  while (!replayer.finished()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (opt.interrupted && opt.interrupted->load()) replayer.abort();
    for (const auto& x : pg.reap()) {
      const bool injected = x.name.rfind("gateway-", 0) == 0 && failed.count(uint32_t(std::stoul(x.name.substr(8))));
      if (!injected && run_error.empty()) {
        run_error = fmt::format("{} exited during the run (code {}, signal {}); see {}/{}.log", x.name, x.exit_code,
                                x.signal, log_dir, x.name);
        replayer.abort();
      }
    }
    const int64_t now = mono_now_ns();
    if (now < next_ns) continue;
    next_ns += period_ns;
    ++period;
    for (const auto& f : s.failures)
      if (f.at_period == period && !failed.count(f.gateway_id)) {
        failed.insert(f.gateway_id);
        ++report.gateway_failures;
        pg.signal(gateway_pid[f.gateway_id], SIGKILL);
        log::info("gateway_failure_injected", "gateway={} period={}", f.gateway_id, period);
      }
    Json gws;
    if (get_json(files.controller_http_port, "/api/v1/gateways", gws).empty() &&
        get_json(files.controller_http_port, "/api/v1/status", status).empty()) {
      for (const auto& g : gws) {
        GatewaySample gs;
        gs.t_s = period * s.period_ms / 1000.0;
        gs.gateway_id = g.value("id", 0u);
        gs.alive = g.value("alive", false);
        gs.load = g.value("load", 0.0);
        gs.predicted = g.value("forecast", 0.0);
        gs.cpu = g.value("cpu", 0.0);
        gs.memory = g.value("memory", 0.0);
        gs.net = g.value("net", 0.0);
        gs.streams = g.value("streams", 0u);
        report.gateway_series.push_back(gs);
      }
      ClusterSample cs;
      cs.t_s = period * s.period_ms / 1000.0;
      cs.lsd = status.value("lsd", 0.0);
      cs.streams_active = status.value("streams", 0u);
      report.cluster_series.push_back(cs);
    }
    if (opt.progress)
      opt.progress(fmt::format("{} {}/{}  streams {} admitted {} rejected  units sent {}  LSD {:.3f}",
                               period > s.duration_periods ? "draining, period" : "period",
                               std::min(period, s.duration_periods), s.duration_periods, replayer.admitted(),
                               replayer.rejected(), replayer.units_sent(), status.value("lsd", 0.0)));
  }
  replayer.join();

  // Gateways first (their counters), then stop everything; GPU emulators write their
  // final statistics on SIGTERM.
  std::map<uint32_t, GatewayScrape> scrapes;
  for (const auto& g : files.gateways)
    if (!failed.count(g.id)) scrapes[g.id] = scrape_gateway(g.metrics_port);
  Json migrations;
  get_json(files.controller_http_port, "/api/v1/migrations", migrations);
  for (const auto& x : pg.stop(std::chrono::milliseconds(3000)))
    if (x.signal == SIGKILL && run_error.empty()) log::warn("child_killed", "name={} (did not stop on SIGTERM)", x.name);

  // ---- accounting
  const auto streams = replayer.results();
  std::vector<double> admission_ms;
  std::map<uint32_t, uint32_t> stream_gateway;
  for (const auto& r : streams) {
    ++report.streams_requested;
    if (r.stream_id) {
      ++report.streams_admitted;
      admission_ms.push_back(r.admission_ms);
      stream_gateway[r.stream_id] = r.gateway_id;
    } else if (!r.rejected.empty()) {
      ++report.streams_rejected;
      ++report.lost_by_reason["admission:" + r.rejected];
    } else {
      --report.streams_requested;  // its start time lay after the end of the run
    }
    report.units_sent += r.units_sent;
    report.fragments_expected += r.fragments_sent;
    report.fragments_missing += r.fragments_resent;
    report.fragments_retransmitted += r.fragments_resent;
    report.migrations += r.migrations;
  }
  report.admission_latency.push_back(latency_stats(s.controller.admission_algorithm, admission_ms));
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> per_stream_gpu;  // verified+corrupt, lost
  for (const auto& g : files.gpus) {
    std::ifstream f(g.stats_file);
    Json j = Json::parse(f, nullptr, false);
    if (j.is_discarded()) {
      if (run_error.empty()) run_error = "GPU emulator " + std::to_string(g.id) + " left no statistics";
      continue;
    }
    report.units_delivered += j["counters"].value("units_verified", 0ull);
    report.units_corrupt += j["counters"].value("units_corrupt", 0ull);
    for (const auto& [sid, st] : j["streams"].items()) {
      report.units_recovered += st.value("recovered", 0ull);
      for (const auto& [reason, n] : st["lost"].items()) {
        report.lost_by_reason["gpu:" + reason] += n.get<uint64_t>();
        report.units_lost += n.get<uint64_t>();
      }
    }
    report.extra["gpus"].push_back(j["models"]);
  }
  uint64_t nacks = 0, nacked = 0, retransmissions = 0, wrong_source = 0;
  for (const auto& [id, sc] : scrapes) {
    for (const auto& [reason, n] : sc.lost_by_reason) {
      if (n == 0) continue;
      report.lost_by_reason["gateway:" + reason] += uint64_t(n);
      report.units_lost += uint64_t(n);
    }
    nacks += uint64_t(sc.nacks_sent);
    nacked += uint64_t(sc.nacked_fragments);
    retransmissions += uint64_t(sc.retransmissions);
    wrong_source += uint64_t(sc.dropped_wrong_source);
  }
  // What the surviving gateways saw of the device -> gateway hop.
  const Json device_hop = {{"nacks_sent", nacks},
                           {"nacked_fragments", nacked},
                           {"retransmissions_received", retransmissions},
                           {"dropped_wrong_source", wrong_source}};
  report.extra["gateway_receive"] = device_hop;
  // Units inside a gateway that was killed are gone without a report from it: they are
  // lost to the failure, which is the reason.
  const uint64_t known = report.units_delivered + report.units_corrupt + report.units_lost;
  if (report.units_sent > known) {
    const uint64_t rest = report.units_sent - known;
    if (!failed.empty()) {
      report.lost_by_reason["gateway_failed"] += rest;
      report.units_lost += rest;
    } else {
      report.units_in_flight = rest;
    }
  }
  // Per-gateway totals from the series and the replayed traffic.
  std::map<uint32_t, GatewaySummary> gsum;
  std::map<uint32_t, uint32_t> samples;
  for (const auto& gs : report.gateway_series) {
    auto& g = gsum[gs.gateway_id];
    g.id = gs.gateway_id;
    if (gs.alive) {
      g.mean_load += gs.load;
      g.max_load = std::max(g.max_load, gs.load);
      ++samples[gs.gateway_id];
    }
    g.streams_final = gs.streams;
    g.streams_peak = std::max(g.streams_peak, gs.streams);
    g.failed = failed.count(gs.gateway_id) > 0;
  }
  for (const auto& p : replayer.periods())
    for (const auto& [gw, v] : p.per_gateway) {
      gsum[gw].id = gw;
      gsum[gw].fragments_expected += v.first;
      gsum[gw].fragments_missing += v.second;
    }
  // Cumulative fragment counts into the per-gateway series, for the CSV.
  std::map<std::pair<uint32_t, uint32_t>, std::pair<uint64_t, uint64_t>> cum;
  {
    std::map<uint32_t, std::pair<uint64_t, uint64_t>> run;
    for (const auto& p : replayer.periods()) {
      for (const auto& [gw, v] : p.per_gateway) {
        run[gw].first += v.first;
        run[gw].second += v.second;
      }
      for (const auto& [gw, v] : run) cum[{p.period + 1, gw}] = v;
    }
  }
  for (auto& gs : report.gateway_series) {
    const uint32_t p = uint32_t(std::lround(gs.t_s * 1000 / s.period_ms));
    if (auto it = cum.find({p, gs.gateway_id}); it != cum.end()) {
      gs.fragments_expected = it->second.first;
      gs.fragments_missing = it->second.second;
    }
  }
  for (auto& [id, g] : gsum) {
    if (id == 0) continue;
    if (samples[id]) g.mean_load /= samples[id];
    report.gateways.push_back(g);
  }
  if (s.impaired)
    report.extra["impairment"] = {{"link", s.impaired_hop == ImpairedHop::device ? "device -> gateway"
                                           : s.impaired_hop == ImpairedHop::gpu  ? "gateway egress -> GPU server"
                                                                                 : "device -> gateway and gateway egress -> GPU server"},
                                  {"loss", s.impairment.loss},
                                  {"burst_loss", s.impairment.burst.stationary_loss()},
                                  {"reorder", s.impairment.reorder},
                                  {"duplicate", s.impairment.duplicate},
                                  {"delay_ms", s.impairment.delay_ns / 1e6}};
  report.extra["cluster_dir"] = run_dir;
  report.extra["logs"] = log_dir;
  report.extra["replay_threads"] = opt.replay_threads;
  report.extra["migrations_controller"] = migrations;
  report.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  if (!run_error.empty()) exit_code = kExitSoftware;
  return run_error;
}

}  // namespace aigw::sim
