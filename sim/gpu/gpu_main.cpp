// aigw-gpu-emu: a GPU-server emulator. Registers with the controller, receives units
// from gateways, verifies each end to end, acknowledges or NACKs it, batches verified
// units per model on a modelled accelerator and reports its load.
//
//   aigw-gpu-emu --config gpu.toml
//   aigw-gpu-emu --id 2 --data-bind 127.0.0.1:7502 --controller 127.0.0.1:7700
//                --key-file cluster.key --scale 0.8 --stats-file gpu2.json   (one line)
#include <sysexits.h>
#include <ev.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "protocol/log.h"
#include "protocol/udp_socket.h"
#include "protocol/udp_offload.h"
#include "sim/common/mono_clock.h"
#include "sim/gpu/gpu_config.h"
#include "sim/gpu/gpu_stats.h"

namespace {

constexpr size_t kBatch = 64;
constexpr size_t kPlainSlot = 2048;  // one fragment; a GRO receive takes kGroMaxReceive
constexpr int kDataSocketBuffer = 64 << 20;  // several seconds of units from every gateway

using namespace aigw::sim;
using aigw::UdpEndpoint;
using aigw::UdpSocketOptions;

// The sockets and the loop around one GpuNode.
class Emulator final : public GpuOutput {
 public:
  Emulator(struct ev_loop* loop, GpuEmuConfig cfg) : loop_(loop), cfg_(std::move(cfg)) {}
  ~Emulator() override {
    if (data_fd_ >= 0) close(data_fd_);
    if (control_fd_ >= 0) close(control_fd_);
  }

  std::string start() {
    std::string e;
    UdpSocketOptions data_options;
    data_options.buffer_bytes = kDataSocketBuffer;
    UdpEndpoint data_bound;
    data_fd_ = open_udp_socket(cfg_.data_bind, data_options, data_bound, e);
    if (data_fd_ < 0) return "data socket: " + e;
    gro_ = aigw::enable_udp_gro(data_fd_);
    slot_ = gro_ ? aigw::kGroMaxReceive : kPlainSlot;
    if (!gro_) aigw::log::warn("udp_gro_unavailable", "socket=data fallback=recvmmsg");
    UdpEndpoint control_bound;
    control_fd_ = open_udp_socket(cfg_.control_bind, UdpSocketOptions{}, control_bound, e);
    if (control_fd_ < 0) return "control socket: " + e;
    cfg_.node.server.data_endpoint = cfg_.advertise.valid() ? cfg_.advertise : data_bound;
    cfg_.node.server.control_endpoint = control_bound;
    rx_.resize(kBatch * slot_);
    node_.emplace(cfg_.node, *this, mono_now_ns());
    ev_io_init(&data_io_, &Emulator::on_data, data_fd_, EV_READ);
    data_io_.data = this;
    ev_io_start(loop_, &data_io_);
    ev_io_init(&control_io_, &Emulator::on_control, control_fd_, EV_READ);
    control_io_.data = this;
    ev_io_start(loop_, &control_io_);
    ev_init(&timer_, &Emulator::on_timer);
    timer_.data = this;
    rearm();
    aigw::log::info("gpu_started",
                    "gpu_id={} data={} gro={} control={} controller={} models={} scale={} stats_file=\"{}\"",
                    cfg_.node.server.gpu_id, cfg_.node.server.data_endpoint.to_string(), gro_ ? "on" : "off", cfg_.node.server.control_endpoint.to_string(),
                    cfg_.controller.to_string(), fmt::join(cfg_.node.server.models, ","), cfg_.node.accelerator.scale,
                    cfg_.stats_file);
    return {};
  }

  void finish() {
    node_->leave();
    write_stats();
    const auto& c = node_->counters();
    aigw::log::info("gpu_stopped", "gpu_id={} units_verified={} units_corrupt={} units_lost={} acks={} nacks={}",
                    cfg_.node.server.gpu_id, c.units_verified, c.units_corrupt, c.units_lost, c.acks_sent, c.nacks_sent);
  }

  nlohmann::json stats() const { return gpu_stats_json(*node_, cfg_.node.server.gpu_id); }

  void to_gateway(const UdpEndpoint& to, const uint8_t* data, size_t len) override {
    send_from(data_fd_, cfg_.data_bind.family(), to, data, len);
  }
  void to_controller(const uint8_t* data, size_t len) override {
    send_from(control_fd_, cfg_.control_bind.family(), cfg_.controller, data, len);
  }

 private:
  // Peers are named in plain IPv4 form; a dual-stack socket reaches them v4-mapped.
  void send_from(int fd, int socket_family, const UdpEndpoint& to, const uint8_t* data, size_t len) {
    UdpEndpoint dest;
    if (!aigw::to_socket_family(to, socket_family, dest) || sendto(fd, data, len, 0, dest.sa(), dest.len) < 0)
      ++send_errors_;
  }

  // The stats file is replaced atomically so a reader never sees half of it.
  void write_stats() {
    if (cfg_.stats_file.empty()) return;
    const std::string tmp = cfg_.stats_file + ".tmp";
    {
      std::ofstream f(tmp, std::ios::trunc);
      f << stats().dump(1) << '\n';
      if (!f) return;
    }
    std::rename(tmp.c_str(), cfg_.stats_file.c_str());
  }

  void rearm() {
    const int64_t now = mono_now_ns();
    const int64_t next = node_->next_deadline_ns();
    ev_timer_stop(loop_, &timer_);
    ev_timer_set(&timer_, next <= now ? 0. : static_cast<double>(next - now) / 1e9, 0.);
    ev_timer_start(loop_, &timer_);
  }

  static void on_data(struct ev_loop*, ev_io* w, int) {
    auto* self = static_cast<Emulator*>(w->data);
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    sockaddr_storage from[kBatch];
    aigw::UdpOffloadControl control[kBatch];
    const size_t slot = self->slot_;
    for (int turn = 0; turn < 8; ++turn) {
      for (size_t i = 0; i < kBatch; ++i) {
        iov[i] = {self->rx_.data() + i * slot, slot};
        msgs[i].msg_hdr = msghdr{};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &from[i];
        msgs[i].msg_hdr.msg_namelen = sizeof from[i];
        if (self->gro_) aigw::expect_gro_segment(msgs[i].msg_hdr, control[i]);
      }
      const int n = recvmmsg(self->data_fd_, msgs, kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) break;
      const int64_t now = mono_now_ns();
      for (int i = 0; i < n; ++i) {
        // Named as the controller names the gateway's egress (plain IPv4 even when heard
        // v4-mapped), or its pair key would never be found.
        const UdpEndpoint ep =
            aigw::endpoint_from_sockaddr(reinterpret_cast<const sockaddr*>(&from[i]), msgs[i].msg_hdr.msg_namelen);
        const size_t segment = self->gro_ ? aigw::gro_segment_size(msgs[i].msg_hdr) : 0;
        aigw::for_each_gro_segment(self->rx_.data() + size_t(i) * slot, msgs[i].msg_len, segment,
                                   [&](const uint8_t* d, size_t len) { self->node_->on_data(ep, d, len, now); });
      }
      if (static_cast<size_t>(n) < kBatch) break;
    }
    self->rearm();
  }

  // The controller's PeerKeys and heartbeat answers.
  static void on_control(struct ev_loop*, ev_io* w, int) {
    auto* self = static_cast<Emulator*>(w->data);
    uint8_t buf[aigw::kMaxControlDatagram];
    for (int i = 0; i < 64; ++i) {
      const ssize_t n = recv(self->control_fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0) break;
      ++self->control_received_;
      self->node_->on_control(buf, static_cast<size_t>(n));
    }
  }

  static void on_timer(struct ev_loop*, ev_timer* w, int) {
    auto* self = static_cast<Emulator*>(w->data);
    const uint64_t syncs = self->node_->counters().syncs_sent;
    self->node_->poll(mono_now_ns());
    if (self->node_->counters().syncs_sent != syncs) self->write_stats();
    self->rearm();
  }

  struct ev_loop* loop_;
  GpuEmuConfig cfg_;
  int data_fd_ = -1;
  int control_fd_ = -1;
  std::optional<GpuNode> node_;
  std::vector<uint8_t> rx_;
  bool gro_ = false;  // UDP GRO on the data socket: a receive may hold a run of fragments
  size_t slot_ = kPlainSlot;
  ev_io data_io_{};
  ev_io control_io_{};
  ev_timer timer_{};
  uint64_t send_errors_ = 0;
  uint64_t control_received_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aigw-gpu-emu: GPU-server emulator (verifies units end to end, batches, reports load)"};
  std::string config_path;
  std::optional<uint32_t> id;
  std::optional<std::string> data_bind, control_bind, controller, key_file, stats_file, log_level;
  std::optional<double> scale;
  std::vector<std::string> models;
  bool check = false, json = false;
  app.add_option("-c,--config", config_path, "TOML configuration")->check(CLI::ExistingFile);
  app.add_option("--id", id, "GPU server id (1..16777215)")->check(CLI::Range(1u, 0xFFFFFFu));
  app.add_option("--data-bind", data_bind, "address:port gateways send units to");
  app.add_option("--control-bind", control_bind, "address:port of the control socket");
  app.add_option("--controller", controller, "controller bypass address:port");
  app.add_option("--key-file", key_file, "file holding the 64-hex-digit control key")->check(CLI::ExistingFile);
  app.add_option("--model", models, "model served (repeatable)");
  app.add_option("--scale", scale, "batching preference: 0 latency .. 1 throughput")->check(CLI::Range(0.0, 1.0));
  app.add_option("--stats-file", stats_file, "JSON statistics, rewritten every period and at exit");
  app.add_option("--log-level", log_level, "debug, info, warn, error, off");
  app.add_flag("--check-config", check, "validate the configuration and exit (0 ok, 78 invalid)");
  app.add_flag("--json", json, "print the final statistics as JSON on stdout");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : EX_USAGE;
  }
  aigw::log::set_component("gpu-emu");
  GpuEmuConfig cfg = default_gpu_emu_config();
  std::string error;
  if (!config_path.empty()) error = load_gpu_emu_config(config_path, cfg);
  auto endpoint = [&](const std::optional<std::string>& text, UdpEndpoint& out, const char* what) {
    if (error.empty() && text)
      if (auto e = aigw::parse_endpoint(*text, out); !e.empty()) error = std::string(what) + ": " + e;
  };
  endpoint(data_bind, cfg.data_bind, "--data-bind");
  endpoint(control_bind, cfg.control_bind, "--control-bind");
  endpoint(controller, cfg.controller, "--controller");
  if (error.empty() && key_file) {
    std::ifstream kf(*key_file);
    std::string hex;
    std::getline(kf, hex);
    if (!aigw::KeyRing::parse_hex(hex, cfg.node.server.key)) error = "--key-file: expected 64 hex digits";
    cfg.have_key = true;
  }
  if (id) cfg.node.server.gpu_id = *id;
  if (!models.empty()) cfg.node.server.models = models;
  if (scale) cfg.node.accelerator.scale = *scale;
  if (stats_file) cfg.stats_file = *stats_file;
  if (log_level) cfg.log_level = *log_level;
  aigw::log::Level level{};
  if (error.empty() && !aigw::log::parse_level(cfg.log_level, level)) error = "unknown log level " + cfg.log_level;
  if (error.empty() && !cfg.have_key) error = "a control key is required (gpu.key, gpu.key_file or --key-file)";
  if (!error.empty()) {
    aigw::log::error("config_invalid", "error=\"{}\"", error);
    return EX_CONFIG;
  }
  if (check) {
    std::cout << "configuration ok: gpu " << cfg.node.server.gpu_id << ", " << cfg.node.server.models.size() << " model(s)\n";
    return 0;
  }
  aigw::log::set_level(level);

  struct ev_loop* loop = ev_default_loop(EVFLAG_AUTO);
  Emulator emu(loop, cfg);
  if (auto e = emu.start(); !e.empty()) {
    aigw::log::error("start_failed", "error=\"{}\"", e);
    return EX_UNAVAILABLE;
  }
  ev_signal sigint, sigterm;
  auto stop = [](struct ev_loop* l, ev_signal*, int) { ev_break(l, EVBREAK_ALL); };
  ev_signal_init(&sigint, stop, SIGINT);
  ev_signal_init(&sigterm, stop, SIGTERM);
  ev_signal_start(loop, &sigint);
  ev_signal_start(loop, &sigterm);
  ev_run(loop, 0);
  emu.finish();
  if (json) std::cout << emu.stats().dump(2) << '\n';
  return 0;
}
