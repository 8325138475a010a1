#include "gateway/agent/control_socket.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "protocol/log.h"
#include "protocol/udp_socket.h"

namespace aigw {

namespace {

constexpr size_t kMaxDatagram = 65536;
constexpr unsigned kMaxReadsPerEvent = 64;  // bound work per loop turn

}  // namespace

ControlSocket::ControlSocket(struct ev_loop* loop, const Ipv4Endpoint& bind, int64_t sync_period_ns)
    : loop_(loop), bind_(bind), sync_period_ns_(sync_period_ns) {}

ControlSocket::~ControlSocket() {
  stop();
  if (fd_ >= 0) close(fd_);
}

bool ControlSocket::open(std::string& error) {
  UdpEndpoint bound;
  fd_ = open_udp_socket(to_udp(bind_), {.buffer_bytes = 1 << 20}, bound, error);
  if (fd_ < 0) return false;
  to_ipv4(bound, bound_);  // an IPv4 bind is bound IPv4
  return true;
}

void ControlSocket::start(ControlAgent& agent) {
  agent_ = &agent;
  ev_io_init(&io_, &ControlSocket::on_readable, fd_, EV_READ);
  io_.data = this;
  // The control socket outranks data sockets in the shared loop.
  ev_set_priority(&io_, EV_MAXPRI);
  ev_io_start(loop_, &io_);
  const double period = static_cast<double>(sync_period_ns_) * 1e-9;
  ev_timer_init(&timer_, &ControlSocket::on_timer, period, period);
  timer_.data = this;
  ev_timer_start(loop_, &timer_);
  agent.start(bound_, log::steady_now_ns());
}

void ControlSocket::stop() {
  if (fd_ < 0 || !ev_is_active(&io_)) return;
  ev_io_stop(loop_, &io_);
  ev_timer_stop(loop_, &timer_);
}

void ControlSocket::on_readable(struct ev_loop*, ev_io* w, int) { static_cast<ControlSocket*>(w->data)->drain(); }

void ControlSocket::on_timer(struct ev_loop*, ev_timer* w, int) {
  auto* self = static_cast<ControlSocket*>(w->data);
  self->agent_->sync(log::steady_now_ns());
}

void ControlSocket::drain() {
  uint8_t buf[kMaxDatagram];
  for (unsigned i = 0; i < kMaxReadsPerEvent; ++i) {
    sockaddr_in sa{};
    socklen_t sl = sizeof sa;
    const ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&sa), &sl);
    if (n < 0) return;  // EAGAIN or a transient error: the watcher fires again
    agent_->on_datagram(buf, static_cast<size_t>(n), Ipv4Endpoint::from_sockaddr(sa), log::steady_now_ns());
  }
}

bool ControlSocket::send_control(const Ipv4Endpoint& to, const uint8_t* data, size_t len) {
  if (fd_ < 0) return false;
  sockaddr_in sa = to.to_sockaddr();
  if (sendto(fd_, data, len, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) >= 0) return true;
  AIGW_WARN_RATE_LIMITED(1000, "control_send_failed", "to={} error=\"{}\"", to_string(to), std::strerror(errno));
  return false;
}

}  // namespace aigw
