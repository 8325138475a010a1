#include "controller/daemon/daemon.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>

#include "controller/core/ctl_commands.h"
#include "protocol/envelope.h"
#include "protocol/log.h"
#include "protocol/udp_socket.h"

namespace aigw::controller {

namespace {
// Bounded work per wake-up so the timers and the operator socket are never starved.
constexpr int kMaxDatagramsPerEvent = 256;
// A document is rendered again only when asked for and older than this.
constexpr int64_t kDocumentMaxAgeNs = 250'000'000;
const std::vector<std::string> kDocuments = {"/api/v1/status", "/api/v1/gateways",   "/api/v1/streams",
                                             "/api/v1/gpus",   "/api/v1/migrations", "/metrics"};
// Pages of the stream listing cached at once (each at most kMaxStreamPageLimit rows).
constexpr size_t kMaxQueryDocuments = 64;

std::map<std::string, HttpApi::QueryPath> query_documents() {
  return {{"/api/v1/streams", {{"limit", "after", "gateway"}, [](const HttpApi::Query& q, std::string& error) {
             StreamPageQuery page;
             return parse_stream_page(q, page, error);
           }}}};
}

/// The page a query asks for: no parameters is the first page. The HTTP thread has
/// already answered bad parameters with 400, so parsing here cannot fail.
StreamPageQuery stream_page(const HttpApi::Query& q) {
  StreamPageQuery page;
  std::string error;
  parse_stream_page(q, page, error);
  return page;
}
}  // namespace

std::unique_ptr<Daemon> Daemon::create(const ControllerConfig& cfg, const std::string& config_path,
                                       std::string& error) {
  MasterKeys masters;
  if (!build_master_keys(cfg, masters, error)) return nullptr;
  std::unique_ptr<Daemon> d(new Daemon());
  d->config_path_ = config_path;
  if (!d->open_udp(cfg.listen, error)) return nullptr;

  d->loop_ = ev_loop_new(EVFLAG_AUTO);
  Transport& transport = *d;
  d->controller_ = std::make_unique<Controller>(cfg, transport, log::steady_now_ns(), envelope_counter_start());
  d->controller_->use_wall_clock(envelope_wall_clock, envelope_counter_start() - kMaxClockSkewNs);
  Daemon* self = d.get();
  d->ctl_ = CtlServer::create(
      d->loop_, cfg.control_socket,
      [self](const nlohmann::json& req) {
        nlohmann::json r = handle_ctl(*self->controller_, self->config_path_, req, log::steady_now_ns());
        self->reschedule();  // a change may have moved a deadline
        if (self->http_) self->http_->invalidate();
        return r;
      },
      error);
  if (!d->ctl_) return nullptr;
  // Before the HTTP thread starts, so that its first request can wake the loop.
  ev_async_init(&d->render_, &Daemon::on_render);
  d->render_.data = self;
  ev_async_start(d->loop_, &d->render_);
  if (!cfg.http_listen.empty()) {
    d->http_ = HttpApi::create(
        cfg.http_listen, kDocuments, query_documents(), kMaxQueryDocuments, kDocumentMaxAgeNs,
        [self] { ev_async_send(self->loop_, &self->render_); }, error);
    if (!d->http_) return nullptr;
  }
  ev_io_init(&d->udp_watcher_, &Daemon::on_udp, d->udp_fd_, EV_READ);
  d->udp_watcher_.data = self;
  ev_io_start(d->loop_, &d->udp_watcher_);
  ev_init(&d->timer_, &Daemon::on_timer);
  d->timer_.data = self;
  ev_async_init(&d->stop_, &Daemon::on_stop);
  d->stop_.data = self;
  ev_async_start(d->loop_, &d->stop_);
  d->reschedule();
  log::info("controller_listening", "udp={} udp_port={} control_socket={} http_port={} sender_id={:#x}", cfg.listen,
            d->udp_port_, cfg.control_socket, d->http_port(), d->controller_->sender_id());
  return d;
}

bool Daemon::open_udp(const std::string& listen, std::string& error) {
  UdpEndpoint bind_to;
  if (const std::string why = parse_endpoint(listen, bind_to); !why.empty()) {
    error = "listen: " + why;
    return false;
  }
  // The defaults: non-blocking for the loop, and an IPv6 address dual-stack, so that
  // "[::]:7700" also hears (and, see send(), reaches) IPv4 nodes.
  UdpEndpoint bound;
  udp_fd_ = open_udp_socket(bind_to, UdpSocketOptions{}, bound, error);
  if (udp_fd_ < 0) return false;
  udp_family_ = bound.family();
  udp_port_ = bound.port();
  return true;
}

Daemon::~Daemon() {
  http_.reset();  // first: its thread may still wake the loop
  if (loop_) {
    ev_io_stop(loop_, &udp_watcher_);
    ev_timer_stop(loop_, &timer_);
    ev_async_stop(loop_, &render_);
    ev_async_stop(loop_, &stop_);
  }
  ctl_.reset();
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

bool Daemon::send(const UdpEndpoint& to, const std::vector<uint8_t>& datagram) {
  // An IPv6 socket (e.g. listen "[::]:7700") reaches IPv4 nodes as v4-mapped addresses;
  // an IPv4 socket cannot reach an IPv6 node at all.
  UdpEndpoint dest;
  if (!to_socket_family(to, udp_family_, dest)) return false;
  return ::sendto(udp_fd_, datagram.data(), datagram.size(), MSG_DONTWAIT, dest.sa(), dest.len) ==
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
    self->controller_->on_datagram(buf.data(), static_cast<size_t>(n),
                                   endpoint_from_sockaddr(reinterpret_cast<const sockaddr*>(&from), flen),
                                   log::steady_now_ns());
  }
  self->reschedule();
}

void Daemon::on_timer(struct ev_loop*, ev_timer* w, int) {
  auto* self = static_cast<Daemon*>(w->data);
  self->controller_->poll(log::steady_now_ns());
  self->reschedule();
}

void Daemon::reschedule() {
  // Due work first (a window may have closed while datagrams were read), then sleep
  // until the next deadline.
  const int64_t now = log::steady_now_ns();
  if (controller_->next_deadline_ns() <= now) controller_->poll(now);
  const int64_t wait_ns = std::max<int64_t>(0, controller_->next_deadline_ns() - log::steady_now_ns());
  ev_timer_stop(loop_, &timer_);
  ev_timer_set(&timer_, double(wait_ns) / 1e9, 0.);
  ev_timer_start(loop_, &timer_);
}

void Daemon::on_render(struct ev_loop*, ev_async* w, int) {
  auto* self = static_cast<Daemon*>(w->data);
  for (const HttpApi::Request& req : self->http_->requested())
    self->http_->publish(req, self->render(req), log::steady_now_ns());
}

HttpApi::Document Daemon::render(const HttpApi::Request& req) const {
  const int64_t now = log::steady_now_ns();
  const Controller& c = *controller_;
  const std::string& path = req.path;
  nlohmann::json j;
  if (path == "/metrics") return {"text/plain; version=0.0.4", c.prometheus(now)};
  if (path == "/api/v1/status") j = c.status_json(now);
  else if (path == "/api/v1/gateways") j = c.gateways_json();
  else if (path == "/api/v1/streams") j = c.streams_json(stream_page(req.query));
  else if (path == "/api/v1/gpus") j = c.gpus_json();
  else if (path == "/api/v1/migrations") j = c.migrations_json();
  return {"application/json", j.dump() + "\n"};
}

}  // namespace aigw::controller
