// The bypass agent's I/O: the kernel UDP socket on the control address and the sync
// timer, on the gateway's libev loop. Everything it reads goes to the agent
// (gateway/agent/control_agent.h) with the time; everything the agent seals leaves here.
//
// \threadbound The libev loop of the main thread.
#pragma once

#include <ev.h>

#include <cstdint>
#include <string>

#include "gateway/agent/control_agent.h"
#include "protocol/udp_endpoint.h"

namespace aigw {

class ControlSocket final : public ControlOut {
 public:
  ControlSocket(struct ev_loop* loop, const Ipv4Endpoint& bind, int64_t sync_period_ns);
  ~ControlSocket() override;
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  /// Binds the socket; false with `error`.
  bool open(std::string& error);
  const Ipv4Endpoint& bound() const { return bound_; }
  /// Starts the agent (it registers and syncs at once), the reads and the timer.
  void start(ControlAgent& agent);
  /// Stops the watchers after the agent said goodbye.
  void stop();

  bool send_control(const Ipv4Endpoint& to, const uint8_t* data, size_t len) override;

 private:
  static void on_readable(struct ev_loop* loop, ev_io* w, int revents);
  static void on_timer(struct ev_loop* loop, ev_timer* w, int revents);
  void drain();

  struct ev_loop* loop_;
  Ipv4Endpoint bind_;
  int64_t sync_period_ns_;
  int fd_ = -1;
  Ipv4Endpoint bound_;
  ControlAgent* agent_ = nullptr;
  ev_io io_{};
  ev_timer timer_{};
};

}  // namespace aigw
