// A real cluster on loopback for the controller's integration tests: the
// aigw-controller, aigw-gateway (socket backend) and aigw-gpu-emu binaries as child
// processes with generated TOML files and one shared key, and devices built with the
// edge SDK's C++ API sending units from a pump thread. Every child runs in one
// process group that is stopped when the Cluster goes out of scope (also when an
// assertion ends the test early), and dies with the test process (PDEATHSIG).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "aigw/edge.hpp"
#include "controller/core/config.h"
#include "protocol/envelope.h"
#include "protocol/node_keys.h"
#include "tests/common/test_key.h"
#include "sim/live/cluster_config.h"
#include "sim/live/http_get.h"
#include "sim/live/process_group.h"
#include "sim/live/prom_text.h"
#include "tests/common/shell_command.h"

namespace aigw::controller::itest {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

inline constexpr const char* kKeyHex = aigw::test::kTestKeyHex;
inline constexpr uint32_t kSyncMs = 100;

inline std::string env_path(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

inline UdpEndpoint loopback(uint16_t port) {
  UdpEndpoint e;
  make_endpoint("127.0.0.1", port, e);
  return e;
}

/// Per-gateway settings of a test.
struct GatewayOptions {
  double capacity_gbps = 1.0;  // Vmax of its one data port
  uint32_t sync_period_ms = kSyncMs;
};

struct GatewayProc {
  uint32_t id = 0;
  pid_t pid = -1;
  uint16_t control_port = 0;
  uint16_t data_port = 0;
  uint16_t metrics_port = 0;
  std::string config;
};

/// Owns the children and their files. \threadbound The test's main thread.
class Cluster {
 public:
  Cluster() {
    char tmpl[] = "/tmp/aigw-itest-XXXXXX";
    EXPECT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    controller_port_ = sim::free_loopback_port(true);
    http_port_ = sim::free_loopback_port(false);
    for (auto [var, path] : {std::pair{"AIGW_CONTROLLER", &controller_bin_}, {"AIGW_GATEWAY", &gateway_bin_},
                             {"AIGW_GPU_EMU", &gpu_bin_}, {"AIGWCTL", &aigwctl_bin_}}) {
      *path = env_path(var);
      EXPECT_FALSE(path->empty()) << var << " is not set";
    }
    KeyRing::parse_hex(kKeyHex, key_);
  }
  ~Cluster() {
    pg_.stop(std::chrono::milliseconds(1500));
    // Logs stay for a failed test, so the reason can be read.
    if (::testing::Test::HasFailure())
      std::fprintf(stderr, "cluster files and logs kept in %s\n", dir_.c_str());
    else
      std::filesystem::remove_all(dir_);
  }
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  const std::string& dir() const { return dir_; }
  uint16_t controller_port() const { return controller_port_; }
  uint16_t http_port() const { return http_port_; }
  /// The master key in the controller's config.
  const ControlKey& key() const { return key_; }
  /// A node's key as `aigwctl key derive` provisions it: derived from the master.
  ControlKey node_key(NodeRole role, uint32_t node) const { return derive_node_key(key_, make_sender_id(role, node)); }
  std::string node_key_hex(NodeRole role, uint32_t node) const { return KeyRing::to_hex(node_key(role, node)); }
  std::string control_socket() const { return dir_ + "/controller.sock"; }

  /// Short periods and loopback addresses; tests adjust the rest.
  ControllerConfig controller_config() const {
    ControllerConfig c;
    c.listen = fmt::format("127.0.0.1:{}", controller_port_);
    c.http_listen = fmt::format("127.0.0.1:{}", http_port_);
    c.control_socket = control_socket();
    c.keys = {KeyConfig{1, kKeyHex, {}}};
    c.sync_period_ms = kSyncMs;
    c.dead_after_periods = 3;
    c.admission_warmup_ms = 0;
    c.migration_retry_ms = 100;
    c.migration_cooldown_ms = 60000;
    return c;
  }

  /// Writes the configuration and starts the controller; waits for its HTTP API.
  void start_controller(const ControllerConfig& c) {
    std::string error;
    config_path_ = dir_ + "/controller.toml";
    ASSERT_TRUE(validate_config(c, error)) << error;
    ASSERT_TRUE(save_config(config_path_, c, error)) << error;
    controller_pid_ = spawn("controller", {controller_bin_, "--config", config_path_});
    ASSERT_GT(controller_pid_, 0);
    ASSERT_TRUE(wait_until([&] { return api("/api/v1/status").is_object(); }, 5000)) << "controller HTTP API";
  }
  /// Starts it again with the file as it is now (config set may have changed it).
  void restart_controller() {
    controller_pid_ = spawn("controller", {controller_bin_, "--config", config_path_});
    ASSERT_GT(controller_pid_, 0);
    ASSERT_TRUE(wait_until([&] { return api("/api/v1/status").is_object(); }, 5000)) << "controller HTTP API";
  }
  /// Sends `sig` to the controller and waits until it has exited.
  void stop_controller(int sig) { ASSERT_TRUE(end_child(controller_pid_, sig)); }
  /// SIGSTOP / SIGCONT: a controller that is alive but unreachable for a while.
  void signal_controller(int sig) { EXPECT_TRUE(pg_.signal(controller_pid_, sig)); }

  const GatewayProc& start_gateway(uint32_t id, const GatewayOptions& o = {}) {
    GatewayProc g;
    g.id = id;
    g.control_port = sim::free_loopback_port(true);
    g.data_port = sim::free_loopback_port(true);
    g.metrics_port = sim::free_loopback_port(false);
    g.config = fmt::format("{}/gateway-{}.toml", dir_, id);
    std::ofstream(g.config) << fmt::format(
        "[gateway]\nid = {}\nbackend = \"socket\"\nlog_level = \"info\"\n\n"
        "[control]\nbind = \"127.0.0.1:{}\"\ncontroller = \"127.0.0.1:{}\"\nkey_id = 1\nkey = \"{}\"\n"
        "sync_period_ms = {}\n\n"
        "[egress]\nbind = \"127.0.0.1:0\"\nstore_units = 16\n\n"
        "[receiver]\nunit_deadline_ms = 1500\nrelease_timeout_ms = 2000\n\n"
        "[metrics]\nenabled = true\nbind = \"127.0.0.1:{}\"\n\n"
        "[socket]\nbuffer_bytes = 4194304\n\n"
        "[[port]]\naddress = \"127.0.0.1\"\nport = {}\ncapacity_gbps = {}\nmemory_budget_mb = 32\n",
        id, g.control_port, controller_port_, node_key_hex(NodeRole::gateway, id), o.sync_period_ms, g.metrics_port, g.data_port, o.capacity_gbps);
    g.pid = spawn(fmt::format("gateway-{}", id), {gateway_bin_, "--config", g.config});
    EXPECT_GT(g.pid, 0);
    return gateways_[id] = g;
  }
  void kill_gateway(uint32_t id) { EXPECT_TRUE(end_child(gateways_.at(id).pid, SIGKILL)); }
  /// SIGSTOP / SIGCONT: a gateway that is alive but does not answer for a while.
  void signal_gateway(uint32_t id, int sig) { EXPECT_TRUE(pg_.signal(gateways_.at(id).pid, sig)); }
  const GatewayProc& gateway(uint32_t id) const { return gateways_.at(id); }

  void start_gpu(uint32_t id) {
    gpu_stats_[id] = fmt::format("{}/gpu-{}-stats.json", dir_, id);
    const std::string path = fmt::format("{}/gpu-{}.toml", dir_, id);
    std::ofstream(path) << fmt::format(
        "[gpu]\nid = {}\nmodels = [\"openpose\"]\ncapacity_units_per_s = 5000\ndata_bind = \"127.0.0.1:0\"\n"
        "control_bind = \"127.0.0.1:0\"\ncontroller = \"127.0.0.1:{}\"\nkey_id = 1\nkey = \"{}\"\nperiod_ms = {}\n\n"
        "[receiver]\nunit_deadline_ms = 1500\n\n[stats]\nfile = \"{}\"\n",
        id, controller_port_, node_key_hex(NodeRole::gpu, id), kSyncMs, gpu_stats_[id]);
    gpu_pid_[id] = spawn(fmt::format("gpu-{}", id), {gpu_bin_, "--config", path});
    EXPECT_GT(gpu_pid_[id], 0);
  }
  /// SIGKILL: the GPU server dies without a word (and without its statistics file).
  void kill_gpu(uint32_t id) { EXPECT_TRUE(end_child(gpu_pid_.at(id), SIGKILL)); }
  /// Stops the GPU emulator (it writes its final statistics on SIGTERM) and reads them.
  Json stop_gpu(uint32_t id) {
    EXPECT_TRUE(end_child(gpu_pid_.at(id), SIGTERM));
    std::ifstream f(gpu_stats_.at(id));
    return Json::parse(f, nullptr, false);
  }

  /// Waits until the controller lists `gateways` live gateways and `gpus` GPU servers.
  bool wait_ready(size_t gateways, size_t gpus, int timeout_ms = 5000) {
    return wait_until(
        [&] {
          const Json s = api("/api/v1/status");
          return s.is_object() && s.value("gateways_live", 0u) == gateways && s.value("gpus", 0u) == gpus &&
                 !s.value("warming_up", true);
        },
        timeout_ms);
  }

  /// A JSON document of the controller's HTTP API, or a discarded value.
  Json api(const std::string& path) const {
    sim::HttpResponse r;
    if (!sim::http_get(loopback(http_port_), path, 1000, r).empty() || r.status != 200)
      return Json(Json::value_t::discarded);
    return Json::parse(r.body, nullptr, false);
  }
  std::vector<sim::PromSample> controller_metrics() const { return scrape(http_port_); }
  std::vector<sim::PromSample> gateway_metrics(uint32_t id) const { return scrape(gateways_.at(id).metrics_port); }

  using CtlResult = test::CommandResult;
  CtlResult aigwctl(const std::string& args) const {
    return test::run_command(aigwctl_bin_ + " -s " + control_socket() + " " + args);
  }

  /// Polls `ready` every 20 ms for up to `timeout_ms`; fails the test if a child died
  /// that was not meant to.
  bool wait_until(const std::function<bool()>& ready, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      check_children();
      if (ready()) return true;
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  /// Sleeps while watching the children.
  void run_for(int ms) {
    wait_until([] { return false; }, ms);
  }
  void check_children() {
    for (const auto& x : pg_.reap())
      ADD_FAILURE() << x.name << " exited unexpectedly (code " << x.exit_code << ", signal " << x.signal
                    << "); logs in " << dir_;
  }

 private:
  pid_t spawn(const std::string& name, std::vector<std::string> argv) {
    std::string error;
    const pid_t pid = pg_.spawn({name, std::move(argv), fmt::format("{}/{}.log", dir_, name)}, error);
    EXPECT_GT(pid, 0) << error;
    return pid;
  }
  bool end_child(pid_t pid, int sig) {
    check_children();
    if (!pg_.signal(pid, sig)) return false;
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (Clock::now() < deadline) {
      for (const auto& x : pg_.reap()) {
        if (x.pid == pid) return true;
        ADD_FAILURE() << x.name << " exited unexpectedly (code " << x.exit_code << ", signal " << x.signal << ")";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  static std::vector<sim::PromSample> scrape(uint16_t port) {
    sim::HttpResponse r;
    if (!sim::http_get(loopback(port), "/metrics", 1000, r).empty() || r.status != 200) return {};
    return sim::parse_prom_text(r.body);
  }

  std::string dir_;
  std::string controller_bin_, gateway_bin_, gpu_bin_, aigwctl_bin_;
  std::string config_path_;
  ControlKey key_{};
  uint16_t controller_port_ = 0;
  uint16_t http_port_ = 0;
  pid_t controller_pid_ = -1;
  std::map<uint32_t, GatewayProc> gateways_;
  std::map<uint32_t, pid_t> gpu_pid_;
  std::map<uint32_t, std::string> gpu_stats_;
  sim::ProcessGroup pg_;
};

/// Devices built on the edge SDK (thread mode), one stream each, and a pump thread
/// that sends every stream one unit per period with seeded content.
class Fleet {
 public:
  static constexpr uint32_t kPeriodMs = 50;
  static constexpr uint32_t kUnitBytes = 6000;  // ~1 Mbit/s per stream at 50 ms

  Fleet(const Cluster& c, uint64_t seed) : cluster_(c), controller_(fmt::format("127.0.0.1:{}", c.controller_port())), seed_(seed) {}
  ~Fleet() { stop(); }
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  /// Creates device `device_id` and opens its stream (blocks until admitted).
  /// Returns the stream id, or 0 with a failure recorded.
  uint32_t open(uint32_t device_id) {
    auto d = std::make_unique<Device>();
    aigw_edge_options o = edge::default_options();
    o.controller = controller_.c_str();
    o.device_id = device_id;
    o.key_id = 1;
    d->key = cluster_.node_key(NodeRole::device, device_id);
    o.key = d->key.data();
    o.mode = AIGW_MODE_THREAD;
    o.store_units = 16;
    o.log_level = AIGW_LOG_WARN;
    edge::Status s = d->client.create(o);
    EXPECT_TRUE(s.ok()) << s.message();
    if (!s.ok()) return 0;
    aigw_stream_profile p = edge::default_profile();
    p.unit_bytes = kUnitBytes;
    p.period_ms = kPeriodMs;
    p.model = "openpose";
    aigw_stream_info info{};
    s = d->client.open_stream(p, info);
    EXPECT_TRUE(s.ok()) << "device " << device_id << ": " << s.message();
    if (!s.ok()) return 0;
    d->stream = info.stream_id;
    d->rng.seed(seed_ * 1000003u + device_id);
    d->unit.resize(kUnitBytes);
    std::lock_guard<std::mutex> lock(mu_);
    devices_.push_back(std::move(d));
    return info.stream_id;
  }

  /// Starts sending (one unit per stream per period).
  void start() {
    running_ = true;
    pump_ = std::thread([this] { pump(); });
  }
  /// Stops sending; the SDK keeps answering NACKs.
  void stop() {
    running_ = false;
    if (pump_.joinable()) pump_.join();
  }

  std::vector<uint32_t> streams() const {
    std::vector<uint32_t> out;
    for (const auto& d : devices_) out.push_back(d->stream);
    return out;
  }
  aigw_stream_stats stats(uint32_t stream) {
    aigw_stream_stats st{};
    for (auto& d : devices_)
      if (d->stream == stream) d->client.stats(stream, st);
    return st;
  }
  uint64_t send_errors() const { return send_errors_; }

 private:
  struct Device {
    ControlKey key{};
    edge::Client client;
    uint32_t stream = 0;
    std::mt19937_64 rng;
    std::vector<uint8_t> unit;
  };

  void pump() {
    auto next = Clock::now();
    while (running_) {
      for (auto& d : devices_) {
        for (auto& b : d->unit) b = static_cast<uint8_t>(d->rng());
        // AIGW_ERR_BUSY means the store is still full: try again next period.
        if (!d->client.send_unit(d->stream, d->unit).ok()) ++send_errors_;
      }
      next += std::chrono::milliseconds(kPeriodMs);
      std::this_thread::sleep_until(next);
    }
  }

  const Cluster& cluster_;
  std::string controller_;
  uint64_t seed_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::atomic<bool> running_{false};
  std::atomic<uint64_t> send_errors_{0};
  std::thread pump_;
};

/// What happened to one stream's units.
struct StreamAccount {
  uint64_t sent = 0;
  uint32_t last_sent_seq = 0;
  uint64_t verified = 0;   // at the GPU emulator, digest checked
  uint32_t last_seq = 0;   // the latest unit the GPU emulator completed
  uint64_t corrupt = 0;
  uint64_t gpu_lost = 0;   // reported lost by the GPU emulator's receiver
  std::map<std::string, uint64_t> gpu_lost_by_reason;
};

/// Per stream: units sent by the devices against the GPU emulators' statistics.
inline std::map<uint32_t, StreamAccount> account(Fleet& fleet, const std::vector<Json>& gpu_stats) {
  std::map<uint32_t, StreamAccount> out;
  for (uint32_t s : fleet.streams()) {
    const aigw_stream_stats st = fleet.stats(s);
    out[s].sent = st.units_sent;
    out[s].last_sent_seq = st.next_unit_seq - 1;
  }
  for (const Json& g : gpu_stats) {
    EXPECT_TRUE(g.is_object()) << "GPU statistics missing";
    if (!g.is_object()) continue;
    for (const auto& [sid, st] : g["streams"].items()) {
      StreamAccount& a = out[uint32_t(std::stoul(sid))];
      a.verified += st.value("verified", 0ull);
      a.corrupt += st.value("corrupt", 0ull);
      a.last_seq = std::max(a.last_seq, st.value("last_seq", 0u));
      for (const auto& [reason, n] : st["lost"].items()) {
        a.gpu_lost += n.get<uint64_t>();
        a.gpu_lost_by_reason[reason] += n.get<uint64_t>();
      }
    }
  }
  return out;
}

/// One line per stream on stderr, so a run shows what was checked.
inline void print_accounts(const std::map<uint32_t, StreamAccount>& acc) {
  for (const auto& [id, a] : acc) {
    std::string lost;
    for (const auto& [reason, n] : a.gpu_lost_by_reason) lost += fmt::format(" {}={}", reason, n);
    std::fprintf(stderr, "stream %u: sent %llu (last seq %u), verified %llu (last seq %u), corrupt %llu, gpu lost %llu%s\n",
                 id, (unsigned long long)a.sent, a.last_sent_seq, (unsigned long long)a.verified, a.last_seq,
                 (unsigned long long)a.corrupt, (unsigned long long)a.gpu_lost, lost.c_str());
  }
}

/// Sum of a metric family over every sample matching `labels`.
inline double metric(const std::vector<sim::PromSample>& samples, const std::string& name,
                     const std::map<std::string, std::string>& labels = {}) {
  return sim::prom_sum(samples, name, labels);
}

// After the devices stop: time for the last NACK rounds and the GPU's unit deadline.
inline constexpr int kDrainMs = 1800;

/// Every unit of every stream verified once at the GPU, nothing lost or corrupt.
inline void expect_lossless(const std::map<uint32_t, StreamAccount>& acc) {
  for (const auto& [id, a] : acc) {
    EXPECT_GT(a.sent, 0u) << "stream " << id;
    EXPECT_EQ(a.verified, a.sent) << "stream " << id;
    EXPECT_EQ(a.gpu_lost, 0u) << "stream " << id;
    EXPECT_EQ(a.corrupt, 0u) << "stream " << id;
  }
}

inline uint64_t total_sent(const std::map<uint32_t, StreamAccount>& acc) {
  uint64_t n = 0;
  for (const auto& [id, a] : acc) n += a.sent;
  return n;
}

/// Stops the devices, lets NACK rounds and deadlines finish, stops the GPU emulator.
inline std::map<uint32_t, StreamAccount> finish(Cluster& c, Fleet& fleet) {
  fleet.stop();
  c.run_for(kDrainMs);
  auto acc = account(fleet, {c.stop_gpu(1)});
  print_accounts(acc);
  return acc;
}

}  // namespace aigw::controller::itest
