#include "controller/daemon.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "controller/ctl_commands.h"
#include "controller/socket_address.h"
#include "protocol/envelope.h"
#include "protocol/log.h"

namespace aigw::controller {

namespace {
// Bounded work per wake-up so the timers and the operator socket are never starved.
constexpr int kMaxDatagramsPerEvent = 256;
constexpr double kPublishInterval = 0.25;
}  // namespace

std::unique_ptr<Daemon> Daemon::create(const ControllerConfig& cfg, const std::string& config_path,
                                       std::string& error) {
  KeyRing ring;
  if (!build_key_ring(cfg, ring, error)) return nullptr;
  std::unique_ptr<Daemon> d(new Daemon());
  d->config_path_ = config_path;
  sockaddr_storage sa{};
  socklen_t len = 0;
  if (!parse_host_port(cfg.listen, sa, len)) {
    error = "listen: not a numeric host:port: " + cfg.listen;
    return nullptr;
  }
  d->udp_family_ = sa.ss_family;
  d->udp_fd_ = socket(sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (d->udp_fd_ < 0 || bind(d->udp_fd_, reinterpret_cast<sockaddr*>(&sa), len) != 0) {
    error = "bind " + cfg.listen + ": " + std::strerror(errno);
    return nullptr;
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof(bound);
  getsockname(d->udp_fd_, reinterpret_cast<sockaddr*>(&bound), &blen);
  d->udp_port_ = from_sockaddr(bound).port;

  d->loop_ = ev_loop_new(EVFLAG_AUTO);
  Transport& transport = *d;
  d->controller_ = std::make_unique<Controller>(cfg, transport, log::steady_now_ns(), envelope_counter_start());
  Daemon* self = d.get();
  d->ctl_ = CtlServer::create(
      d->loop_, cfg.control_socket,
      [self](const nlohmann::json& req) {
        nlohmann::json r = handle_ctl(*self->controller_, self->config_path_, req, log::steady_now_ns());
        self->reschedule();  // a change may have moved a deadline
        self->publish_http();
        return r;
      },
      error);
  if (!d->ctl_) return nullptr;
  if (!cfg.http_listen.empty()) {
    d->http_ = HttpApi::create(cfg.http_listen, error);
    if (!d->http_) return nullptr;
  }
  ev_io_init(&d->udp_watcher_, &Daemon::on_udp, d->udp_fd_, EV_READ);
  d->udp_watcher_.data = self;
  ev_io_start(d->loop_, &d->udp_watcher_);
  ev_init(&d->timer_, &Daemon::on_timer);
  d->timer_.data = self;
  ev_timer_init(&d->publish_timer_, &Daemon::on_publish, kPublishInterval, kPublishInterval);
  d->publish_timer_.data = self;
  ev_timer_start(d->loop_, &d->publish_timer_);
  ev_async_init(&d->stop_, &Daemon::on_stop);
  d->stop_.data = self;
  ev_async_start(d->loop_, &d->stop_);
  d->reschedule();
  d->publish_http();
  log::info("controller_listening", "udp={} udp_port={} control_socket={} http_port={} sender_id={:#x}", cfg.listen,
            d->udp_port_, cfg.control_socket, d->http_port(), d->controller_->sender_id());
  return d;
}

Daemon::~Daemon() {
  if (loop_) {
    ev_io_stop(loop_, &udp_watcher_);
    ev_timer_stop(loop_, &timer_);
    ev_timer_stop(loop_, &publish_timer_);
    ev_async_stop(loop_, &stop_);
  }
  ctl_.reset();
  http_.reset();
  if (udp_fd_ >= 0) ::close(udp_fd_);
  if (loop_) ev_loop_destroy(loop_);
}

void Daemon::run(bool handle_signals) {
  if (handle_signals) {
    ev_signal_init(&sigint_, &Daemon::on_signal, SIGINT);
    ev_signal_init(&sigterm_, &Daemon::on_signal, SIGTERM);
    sigint_.data = sigterm_.data = this;
    ev_signal_start(loop_, &sigint_);
    ev_signal_start(loop_, &sigterm_);
  }
  ev_run(loop_, 0);
  if (handle_signals) {
    ev_signal_stop(loop_, &sigint_);
    ev_signal_stop(loop_, &sigterm_);
  }
}

void Daemon::stop() { ev_async_send(loop_, &stop_); }

void Daemon::on_stop(struct ev_loop* loop, ev_async*, int) { ev_break(loop, EVBREAK_ALL); }

void Daemon::on_signal(struct ev_loop* loop, ev_signal* w, int) {
  log::info("controller_stopping", "signal={}", w->signum);
  ev_break(loop, EVBREAK_ALL);
}

bool Daemon::send(const Endpoint& to, const std::vector<uint8_t>& datagram) {
  sockaddr_storage sa{};
  socklen_t len = 0;
  if (!to_sockaddr(to, sa, len) || int(sa.ss_family) != udp_family_) return false;
  return ::sendto(udp_fd_, datagram.data(), datagram.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sa), len) ==
         static_cast<ssize_t>(datagram.size());
}

void Daemon::on_udp(struct ev_loop*, ev_io* w, int) {
  auto* self = static_cast<Daemon*>(w->data);
  static thread_local std::vector<uint8_t> buf(kMaxControlDatagram + 1);
  for (int i = 0; i < kMaxDatagramsPerEvent; ++i) {
    sockaddr_storage from{};
    socklen_t flen = sizeof(from);
    const ssize_t n = ::recvfrom(self->udp_fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n < 0) break;
    self->controller_->on_datagram(buf.data(), static_cast<size_t>(n), from_sockaddr(from), log::steady_now_ns());
  }
  self->reschedule();
}

void Daemon::on_timer(struct ev_loop*, ev_timer* w, int) {
  auto* self = static_cast<Daemon*>(w->data);
  self->controller_->tick(log::steady_now_ns());
  self->reschedule();
}

void Daemon::reschedule() {
  // Due work first (a window may have closed while datagrams were read), then sleep
  // until the next deadline.
  const int64_t now = log::steady_now_ns();
  if (controller_->next_deadline() <= now) controller_->tick(now);
  const int64_t wait_ns = std::max<int64_t>(0, controller_->next_deadline() - log::steady_now_ns());
  ev_timer_stop(loop_, &timer_);
  ev_timer_set(&timer_, double(wait_ns) / 1e9, 0.);
  ev_timer_start(loop_, &timer_);
}

void Daemon::on_publish(struct ev_loop*, ev_timer* w, int) { static_cast<Daemon*>(w->data)->publish_http(); }

void Daemon::publish_http() {
  if (!http_) return;
  const int64_t now = log::steady_now_ns();
  const std::string json = "application/json";
  http_->publish({
      {"/api/v1/status", {json, controller_->status_json(now).dump() + "\n"}},
      {"/api/v1/gateways", {json, controller_->gateways_json().dump() + "\n"}},
      {"/api/v1/streams", {json, controller_->streams_json().dump() + "\n"}},
      {"/api/v1/gpus", {json, controller_->gpus_json().dump() + "\n"}},
      {"/api/v1/migrations", {json, controller_->migrations_json().dump() + "\n"}},
      {"/metrics", {"text/plain; version=0.0.4", controller_->prometheus(now)}},
  });
}

}  // namespace aigw::controller
