#include "sim/live/live_run.h"

#include <sysexits.h>
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

using Json = nlohmann::json;

UdpEndpoint loopback(uint16_t port) {
  UdpEndpoint e;
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

// One live run: the cluster's files and child processes, and what is observed of them
// until the report is complete. Each phase of the run is one method.
class LiveRun {
 public:
  LiveRun(const Scenario& s, const LiveOptions& opt, RunReport& report)
      : s_(s), opt_(opt), report_(report), run_dir_(opt.out_dir + "/cluster"), log_dir_(opt.out_dir + "/logs") {}

  std::string run(int& exit_code);

 private:
  std::string find_binaries();
  std::string write_files();
  std::string spawn(const std::string& name, std::vector<std::string> argv, pid_t* pid = nullptr);
  std::string start_cluster();
  std::string wait_registered();
  ReplayConfig replay_config() const;
  void observe(Replayer& replayer, int64_t t0_ns);
  void reap_during_run(Replayer& replayer);
  void inject_failures(uint32_t period);
  void sample_cluster(uint32_t period);
  void stop_cluster();
  void account_streams(const std::vector<ReplayStreamResult>& streams);
  void account_gpus();
  void account_gateway_receive();
  void account_unreported_units();
  void summarise_gateways(const std::vector<ReplayPeriod>& periods);
  void add_cumulative_fragments(const std::vector<ReplayPeriod>& periods);
  void record_run_details();

  const Scenario& s_;
  const LiveOptions& opt_;
  RunReport& report_;
  const std::string run_dir_, log_dir_;
  std::string controller_bin_, gateway_bin_, gpu_bin_, impair_bin_;
  ClusterFiles files_;
  ProcessGroup pg_;
  Json status_;  // the controller's last /api/v1/status
  std::map<uint32_t, pid_t> gateway_pid_;
  std::set<uint32_t> failed_;  // gateways killed on purpose
  std::string run_error_;  // the run's error: the first failure seen
  std::map<uint32_t, GatewayScrape> scrapes_;  // surviving gateways, after the replay
  Json migrations_;
};

std::string LiveRun::run(int& exit_code) {
  exit_code = 0;
  describe_run(s_, "live", report_);
  const auto wall0 = std::chrono::steady_clock::now();
  if (auto e = find_binaries(); !e.empty()) {
    exit_code = EX_UNAVAILABLE;
    return e;
  }
  if (auto e = write_files(); !e.empty()) {
    exit_code = EX_SOFTWARE;
    return e;
  }
  if (auto e = start_cluster(); !e.empty()) {
    exit_code = EX_UNAVAILABLE;
    pg_.stop(std::chrono::milliseconds(2000));
    return e;
  }
  log::info("cluster_ready", "gateways={} gpus={} dir={}", files_.gateways.size(), files_.gpus.size(), run_dir_);

  const ReplayConfig rc = replay_config();
  Replayer replayer(s_, rc);
  replayer.start();
  observe(replayer, rc.t0_ns);
  replayer.join();
  stop_cluster();

  account_streams(replayer.results());
  account_gpus();
  account_gateway_receive();
  account_unreported_units();
  const auto periods = replayer.periods();
  summarise_gateways(periods);
  add_cumulative_fragments(periods);
  record_run_details();
  report_.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  if (!run_error_.empty()) exit_code = EX_SOFTWARE;
  return run_error_;
}

// "" or "not built: " and every executable of the cluster that is missing.
std::string LiveRun::find_binaries() {
  controller_bin_ = opt_.bin_dir + "/controller/aigw-controller";
  gateway_bin_ = opt_.bin_dir + "/gateway/aigw-gateway";
  gpu_bin_ = opt_.bin_dir + "/sim/aigw-gpu-emu";
  impair_bin_ = opt_.bin_dir + "/sim/aigw-impair";
  std::string missing;
  for (const auto& b : {controller_bin_, gateway_bin_, gpu_bin_, impair_bin_})
    if (access(b.c_str(), X_OK) != 0) missing += (missing.empty() ? "" : ", ") + b;
  return missing.empty() ? "" : "not built: " + missing;
}

std::string LiveRun::write_files() {
  if (s_.impairs_device_hop() && s_.total_streams() > kMaxAddressedDevices)
    return fmt::format("an impaired device hop gives each device its own loopback addresses: at most {} streams",
                       kMaxAddressedDevices);
  std::filesystem::create_directories(log_dir_);
  return write_cluster_files(s_, run_dir_, files_);
}

// Starts one child logging to <logs>/<name>.log; "" or why it could not be started.
std::string LiveRun::spawn(const std::string& name, std::vector<std::string> argv, pid_t* pid) {
  std::string error;
  const pid_t p = pg_.spawn({name, std::move(argv), fmt::format("{}/{}.log", log_dir_, name)}, error);
  if (p < 0) return error;
  if (pid) *pid = p;
  return {};
}

// The controller first (everything else registers with it), then gateways, relays and
// GPU servers; done when all of them have registered.
std::string LiveRun::start_cluster() {
  if (auto e = spawn("controller", {controller_bin_, "--config", files_.controller_config}); !e.empty()) return e;
  if (auto e = wait_for("the controller's HTTP API", pg_, 10'000,
                        [&] { return get_json(files_.controller_http_port, "/api/v1/status", status_).empty(); });
      !e.empty())
    return e;
  for (const auto& g : files_.gateways)
    if (auto e = spawn(fmt::format("gateway-{}", g.id), {gateway_bin_, "--config", g.config}, &gateway_pid_[g.id]);
        !e.empty())
      return e;
  for (const auto& g : files_.gateways)
    for (size_t p = 0; p < g.relay_configs.size(); ++p)
      if (auto e = spawn(fmt::format("impair-gateway-{}-{}", g.id, p),
                         {impair_bin_, "--config", g.relay_configs[p], "--stats-interval", "0", "--log-level", "warn"});
          !e.empty())
        return e;
  for (const auto& g : files_.gpus)
    if (g.relay_port)
      if (auto e = spawn(fmt::format("impair-gpu-{}", g.id),
                         {impair_bin_, "--config", g.relay_config, "--stats-interval", "0"});
          !e.empty())
        return e;
  for (const auto& g : files_.gpus)
    if (auto e = spawn(fmt::format("gpu-{}", g.id), {gpu_bin_, "--config", g.config}); !e.empty()) return e;
  return wait_registered();
}

std::string LiveRun::wait_registered() {
  return wait_for("gateways and GPU servers to register", pg_, 15'000, [&] {
    if (!get_json(files_.controller_http_port, "/api/v1/status", status_).empty()) return false;
    return status_.value("gateways_live", 0) == int(files_.gateways.size()) &&
           status_.value("gpus", 0) == int(files_.gpus.size()) && !status_.value("warming_up", true);
  });
}

ReplayConfig LiveRun::replay_config() const {
  ReplayConfig rc;
  rc.controller = fmt::format("127.0.0.1:{}", files_.controller_port);
  rc.key = files_.key;
  rc.threads = opt_.replay_threads;
  rc.drain_ns = opt_.drain_ns;
  rc.per_device_addresses = s_.impairs_device_hop();
  rc.t0_ns = mono_now_ns() + 100'000'000;
  return rc;
}

// Observes the cluster once per period until the replay (and its drain) is over.
void LiveRun::observe(Replayer& replayer, int64_t t0_ns) {
  const int64_t period_ns = int64_t{s_.period_ms} * 1'000'000;
  uint32_t period = 0;
  int64_t next_ns = t0_ns + period_ns;
  while (!replayer.finished()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (opt_.interrupted && opt_.interrupted->load()) replayer.abort();
    reap_during_run(replayer);
    const int64_t now = mono_now_ns();
    if (now < next_ns) continue;
    next_ns += period_ns;
    ++period;
    inject_failures(period);
    sample_cluster(period);
    if (opt_.progress)
      opt_.progress(fmt::format("{} {}/{}  streams {} admitted {} rejected  units sent {}  LSD {:.3f}",
                                period > s_.duration_periods ? "draining, period" : "period",
                                std::min(period, s_.duration_periods), s_.duration_periods, replayer.admitted(),
                                replayer.rejected(), replayer.units_sent(), status_.value("lsd", 0.0)));
  }
}

// A child that exits during the run ends the run, unless it is a gateway killed on purpose.
void LiveRun::reap_during_run(Replayer& replayer) {
  for (const auto& x : pg_.reap()) {
    const bool injected = x.name.rfind("gateway-", 0) == 0 && failed_.count(uint32_t(std::stoul(x.name.substr(8))));
    if (!injected && run_error_.empty()) {
      run_error_ = fmt::format("{} exited during the run (code {}, signal {}); see {}/{}.log", x.name, x.exit_code,
                               x.signal, log_dir_, x.name);
      replayer.abort();
    }
  }
}

void LiveRun::inject_failures(uint32_t period) {
  for (const auto& f : s_.failures)
    if (f.at_period == period && !failed_.count(f.gateway_id)) {
      failed_.insert(f.gateway_id);
      ++report_.gateway_failures;
      pg_.signal(gateway_pid_[f.gateway_id], SIGKILL);
      log::info("gateway_failure_injected", "gateway={} period={}", f.gateway_id, period);
    }
}

// One sample per gateway and one of the cluster, as the controller's API reports them.
void LiveRun::sample_cluster(uint32_t period) {
  Json gws;
  if (!get_json(files_.controller_http_port, "/api/v1/gateways", gws).empty() ||
      !get_json(files_.controller_http_port, "/api/v1/status", status_).empty())
    return;
  for (const auto& g : gws) {
    GatewaySample gs;
    gs.t_s = period * s_.period_ms / 1000.0;
    gs.gateway_id = g.value("id", 0u);
    gs.alive = g.value("alive", false);
    gs.load = g.value("load", 0.0);
    gs.predicted = g.value("forecast", 0.0);
    gs.cpu = g.value("cpu", 0.0);
    gs.memory = g.value("memory", 0.0);
    gs.net = g.value("net", 0.0);
    gs.streams = g.value("streams", 0u);
    report_.gateway_series.push_back(gs);
  }
  ClusterSample cs;
  cs.t_s = period * s_.period_ms / 1000.0;
  cs.lsd = status_.value("lsd", 0.0);
  cs.streams_active = status_.value("streams", 0u);
  report_.cluster_series.push_back(cs);
}

// Gateways first (their counters), then stop everything; GPU emulators write their
// final statistics on SIGTERM.
void LiveRun::stop_cluster() {
  for (const auto& g : files_.gateways)
    if (!failed_.count(g.id)) scrapes_[g.id] = scrape_gateway(g.metrics_port);
  get_json(files_.controller_http_port, "/api/v1/migrations", migrations_);
  for (const auto& x : pg_.stop(std::chrono::milliseconds(3000)))
    if (x.signal == SIGKILL && run_error_.empty())
      log::warn("child_killed", "name={} (did not stop on SIGTERM)", x.name);
}

void LiveRun::account_streams(const std::vector<ReplayStreamResult>& streams) {
  std::vector<double> admission_ms;
  for (const auto& r : streams) {
    ++report_.streams_requested;
    if (r.stream_id) {
      ++report_.streams_admitted;
      admission_ms.push_back(r.admission_ms);
    } else if (!r.rejected.empty()) {
      ++report_.streams_rejected;
      ++report_.lost_by_reason["admission:" + r.rejected];
    } else {
      --report_.streams_requested;  // its start time lay after the end of the run
    }
    report_.units_sent += r.units_sent;
    report_.fragments_expected += r.fragments_sent;
    report_.fragments_missing += r.fragments_resent;
    report_.fragments_retransmitted += r.fragments_resent;
    report_.migrations += r.migrations;
  }
  report_.admission_latency.push_back(latency_stats(s_.controller.admission_algorithm, admission_ms));
}

// What the GPU emulators verified, recovered and lost, from their final statistics.
void LiveRun::account_gpus() {
  for (const auto& g : files_.gpus) {
    std::ifstream f(g.stats_file);
    Json j = Json::parse(f, nullptr, false);
    if (j.is_discarded()) {
      if (run_error_.empty()) run_error_ = "GPU emulator " + std::to_string(g.id) + " left no statistics";
      continue;
    }
    report_.units_delivered += j["counters"].value("units_verified", 0ull);
    report_.units_corrupt += j["counters"].value("units_corrupt", 0ull);
    for (const auto& [sid, st] : j["streams"].items()) {
      report_.units_recovered += st.value("recovered", 0ull);
      for (const auto& [reason, n] : st["lost"].items()) {
        report_.lost_by_reason["gpu:" + reason] += n.get<uint64_t>();
        report_.units_lost += n.get<uint64_t>();
      }
    }
    report_.extra["gpus"].push_back(j["models"]);
  }
}

// Units the surviving gateways lost, and what they saw of the device -> gateway hop.
void LiveRun::account_gateway_receive() {
  uint64_t nacks = 0, nacked = 0, retransmissions = 0, wrong_source = 0;
  for (const auto& [id, sc] : scrapes_) {
    for (const auto& [reason, n] : sc.lost_by_reason) {
      if (n == 0) continue;
      report_.lost_by_reason["gateway:" + reason] += uint64_t(n);
      report_.units_lost += uint64_t(n);
    }
    nacks += uint64_t(sc.nacks_sent);
    nacked += uint64_t(sc.nacked_fragments);
    retransmissions += uint64_t(sc.retransmissions);
    wrong_source += uint64_t(sc.dropped_wrong_source);
  }
  const Json device_hop = {{"nacks_sent", nacks},
                           {"nacked_fragments", nacked},
                           {"retransmissions_received", retransmissions},
                           {"dropped_wrong_source", wrong_source}};
  report_.extra["gateway_receive"] = device_hop;
}

// Units inside a gateway that was killed are gone without a report from it: they are
// lost to the failure, which is the reason.
void LiveRun::account_unreported_units() {
  const uint64_t known = report_.units_delivered + report_.units_corrupt + report_.units_lost;
  if (report_.units_sent <= known) return;
  const uint64_t rest = report_.units_sent - known;
  if (!failed_.empty()) {
    report_.lost_by_reason["gateway_failed"] += rest;
    report_.units_lost += rest;
  } else {
    report_.units_in_flight = rest;
  }
}

// Per-gateway totals from the series and the replayed traffic.
void LiveRun::summarise_gateways(const std::vector<ReplayPeriod>& periods) {
  std::map<uint32_t, GatewaySummary> gsum;
  std::map<uint32_t, uint32_t> samples;
  for (const auto& gs : report_.gateway_series) {
    auto& g = gsum[gs.gateway_id];
    g.id = gs.gateway_id;
    if (gs.alive) {
      g.mean_load += gs.load;
      g.max_load = std::max(g.max_load, gs.load);
      ++samples[gs.gateway_id];
    }
    g.streams_final = gs.streams;
    g.streams_peak = std::max(g.streams_peak, gs.streams);
    g.failed = failed_.count(gs.gateway_id) > 0;
  }
  for (const auto& p : periods)
    for (const auto& [gw, v] : p.per_gateway) {
      gsum[gw].id = gw;
      gsum[gw].fragments_expected += v.first;
      gsum[gw].fragments_missing += v.second;
    }
  for (auto& [id, g] : gsum) {
    if (id == 0) continue;
    if (samples[id]) g.mean_load /= samples[id];
    report_.gateways.push_back(g);
  }
}

// Cumulative fragment counts into the per-gateway series, for the CSV.
void LiveRun::add_cumulative_fragments(const std::vector<ReplayPeriod>& periods) {
  std::map<std::pair<uint32_t, uint32_t>, std::pair<uint64_t, uint64_t>> cum;
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> run;
  for (const auto& p : periods) {
    for (const auto& [gw, v] : p.per_gateway) {
      run[gw].first += v.first;
      run[gw].second += v.second;
    }
    for (const auto& [gw, v] : run) cum[{p.period + 1, gw}] = v;
  }
  for (auto& gs : report_.gateway_series) {
    const uint32_t p = uint32_t(std::lround(gs.t_s * 1000 / s_.period_ms));
    if (auto it = cum.find({p, gs.gateway_id}); it != cum.end()) {
      gs.fragments_expected = it->second.first;
      gs.fragments_missing = it->second.second;
    }
  }
}

void LiveRun::record_run_details() {
  if (s_.impaired)
    report_.extra["impairment"] = {{"link", s_.impaired_hop == ImpairedHop::device ? "device -> gateway"
                                            : s_.impaired_hop == ImpairedHop::gpu  ? "gateway egress -> GPU server"
                                                                                   : "device -> gateway and gateway egress -> GPU server"},
                                   {"loss", s_.impairment.loss},
                                   {"burst_loss", s_.impairment.burst.stationary_loss()},
                                   {"reorder", s_.impairment.reorder},
                                   {"duplicate", s_.impairment.duplicate},
                                   {"delay_ms", s_.impairment.delay_ns / 1e6}};
  report_.extra["cluster_dir"] = run_dir_;
  report_.extra["logs"] = log_dir_;
  report_.extra["replay_threads"] = opt_.replay_threads;
  report_.extra["migrations_controller"] = migrations_;
}

}  // namespace

std::string run_live(const Scenario& s, const LiveOptions& opt, RunReport& report, int& exit_code) {
  LiveRun live(s, opt, report);
  return live.run(exit_code);
}

}  // namespace aigw::sim
