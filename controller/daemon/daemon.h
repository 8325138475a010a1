// aigw-controller's event loop: the bypass UDP socket, the operator unix socket, the
// HTTP API and the timers around one Controller. \threadbound: run() and everything
// it calls stay on one thread; stop() may be called from any thread.
#pragma once

#include <ev.h>

#include <memory>
#include <string>
#include <vector>

#include "controller/core/config.h"
#include "controller/core/controller.h"
#include "controller/daemon/ctl_server.h"
#include "controller/daemon/http_api.h"

namespace aigw::controller {

class Daemon final : private Transport {
 public:
  /// Binds everything the configuration names. `config_path` is where changes are
  /// persisted ("" keeps them in memory only).
  static std::unique_ptr<Daemon> create(const ControllerConfig& cfg, const std::string& config_path,
                                        std::string& error);
  ~Daemon() override;
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  /// Runs until stop() or SIGINT/SIGTERM (when `handle_signals`).
  void run(bool handle_signals);
  /// Thread-safe.
  void stop();

  uint16_t udp_port() const { return udp_port_; }
  uint16_t http_port() const { return http_ ? http_->port() : 0; }

 private:
  Daemon() = default;
  /// Binds the bypass UDP socket `listen` names; false with `error` set.
  bool open_udp(const std::string& listen, std::string& error);
  bool send(const UdpEndpoint& to, const std::vector<uint8_t>& datagram) override;
  static void on_udp(struct ev_loop* loop, ev_io* w, int revents);
  static void on_timer(struct ev_loop* loop, ev_timer* w, int revents);
  static void on_render(struct ev_loop* loop, ev_async* w, int revents);
  static void on_stop(struct ev_loop* loop, ev_async* w, int revents);
  static void on_signal(struct ev_loop* loop, ev_signal* w, int revents);
  void reschedule();
  /// One document of the HTTP API, from the tables as they are now.
  HttpApi::Document render(const HttpApi::Request& req) const;

  struct ev_loop* loop_ = nullptr;
  int udp_fd_ = -1;
  int udp_family_ = 0;
  uint16_t udp_port_ = 0;
  std::string config_path_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<CtlServer> ctl_;
  std::unique_ptr<HttpApi> http_;
  ev_io udp_watcher_{};
  ev_timer timer_{};
  ev_async render_{};  // the HTTP thread asks for documents
  ev_async stop_{};
  ev_signal sigint_{};
  ev_signal sigterm_{};
};

}  // namespace aigw::controller
