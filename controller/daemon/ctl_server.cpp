#include "controller/daemon/ctl_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "protocol/log.h"

namespace aigw::controller {

namespace {
constexpr size_t kMaxRequest = 64 * 1024;
constexpr size_t kMaxConns = 64;

// The file mode already keeps others out; the kernel's word on who connected also
// holds when the socket file was re-permissioned or reached through a bind mount.
bool peer_may_operate(int fd) {
  ucred peer{};
  socklen_t len = sizeof(peer);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) {
    log::warn("ctl_refused", "reason=no_peer_credentials errno={}", errno);
    return false;
  }
  if (peer.uid == 0 || peer.uid == ::geteuid() || peer.gid == ::getegid()) return true;
  log::warn("ctl_refused", "reason=peer_credentials pid={} uid={} gid={}", peer.pid, peer.uid, peer.gid);
  return false;
}

nlohmann::json answer(const CtlServer::Handler& handler, const std::string& line) {
  nlohmann::json req = nlohmann::json::parse(line, nullptr, false);
  if (req.is_discarded()) return {{"ok", false}, {"error", "request is not JSON"}, {"exit", 64}};
  // The commands type-check their fields; this is the backstop that keeps a request the
  // checks missed from taking the daemon down with it.
  try {
    return handler(req);
  } catch (const nlohmann::json::exception& e) {
    log::warn("ctl_bad_request", "error=\"{}\"", e.what());
    return {{"ok", false}, {"error", std::string("malformed request: ") + e.what()}, {"exit", 64}};
  }
}
}  // namespace

struct CtlServer::Conn {
  ev_io watcher;
  int fd = -1;
  std::string in;
  std::string out;
  size_t sent = 0;
  CtlServer* server = nullptr;
};

std::unique_ptr<CtlServer> CtlServer::create(struct ev_loop* loop, const std::string& path, Handler handler,
                                             std::string& error) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    error = "control socket path too long: " + path;
    return nullptr;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  ::unlink(path.c_str());
  // Created 0660 under a umask, not chmod-ed afterwards: no moment where others may connect.
  const mode_t old_mask = ::umask(0117);
  const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  const int bind_errno = errno;
  ::umask(old_mask);
  if (!bound || listen(fd, 16) != 0) {
    error = "bind " + path + ": " + std::strerror(bound ? errno : bind_errno);
    ::close(fd);
    return nullptr;
  }
  if (::chmod(path.c_str(), 0660) != 0) {
    error = "chmod " + path + ": " + std::strerror(errno);
    ::close(fd);
    ::unlink(path.c_str());
    return nullptr;
  }
  return std::unique_ptr<CtlServer>(new CtlServer(loop, fd, path, std::move(handler)));
}

CtlServer::CtlServer(struct ev_loop* loop, int fd, std::string path, Handler handler)
    : loop_(loop), fd_(fd), path_(std::move(path)), handler_(std::move(handler)) {
  ev_io_init(&accept_watcher_, &CtlServer::on_accept, fd_, EV_READ);
  accept_watcher_.data = this;
  ev_io_start(loop_, &accept_watcher_);
}

CtlServer::~CtlServer() {
  ev_io_stop(loop_, &accept_watcher_);
  while (!conns_.empty()) close_conn(conns_.back().get());
  ::close(fd_);
  ::unlink(path_.c_str());
}

void CtlServer::on_accept(struct ev_loop* loop, ev_io* w, int) {
  auto* self = static_cast<CtlServer*>(w->data);
  for (;;) {
    const int fd = accept4(self->fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (self->conns_.size() >= kMaxConns) {
      ::close(fd);  // an operator tool, not a service: refuse rather than queue
      continue;
    }
    if (!peer_may_operate(fd)) {
      ::close(fd);
      continue;
    }
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    c->server = self;
    ev_io_init(&c->watcher, &CtlServer::on_conn, fd, EV_READ);
    c->watcher.data = c.get();
    ev_io_start(loop, &c->watcher);
    self->conns_.push_back(std::move(c));
  }
}

void CtlServer::close_conn(Conn* c) {
  ev_io_stop(loop_, &c->watcher);
  ::close(c->fd);
  conns_.erase(std::remove_if(conns_.begin(), conns_.end(), [c](const auto& p) { return p.get() == c; }), conns_.end());
}

void CtlServer::on_conn(struct ev_loop* loop, ev_io* w, int revents) {
  auto* c = static_cast<Conn*>(w->data);
  CtlServer* self = c->server;
  if (revents & EV_READ) {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(c->fd, buf, sizeof(buf));
      if (n > 0) {
        c->in.append(buf, static_cast<size_t>(n));
        if (c->in.size() > kMaxRequest) return self->close_conn(c);
        continue;
      }
      if (n == 0 && c->in.find('\n') == std::string::npos) return self->close_conn(c);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return self->close_conn(c);
      break;
    }
    const auto nl = c->in.find('\n');
    if (nl == std::string::npos) return;
    c->out = answer(self->handler_, c->in.substr(0, nl)).dump() + "\n";
    ev_io_stop(loop, &c->watcher);
    ev_io_set(&c->watcher, c->fd, EV_WRITE);
    ev_io_start(loop, &c->watcher);
  }
  if (revents & EV_WRITE) {
    while (c->sent < c->out.size()) {
      const ssize_t n = ::write(c->fd, c->out.data() + c->sent, c->out.size() - c->sent);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        return self->close_conn(c);
      }
      c->sent += static_cast<size_t>(n);
    }
    self->close_conn(c);
  }
}

}  // namespace aigw::controller
