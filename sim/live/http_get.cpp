#include "sim/live/http_get.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

namespace aigw::sim {

namespace {

// Waits for `events` on fd until the deadline; false on timeout or error.
bool wait_fd(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    const int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

}  // namespace

std::string http_get(const UdpEndpoint& server, const std::string& path, int timeout_ms, HttpResponse& out) {
  out = {};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  const int fd = socket(server.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fmt::format("socket: {}", std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  if (connect(fd, reinterpret_cast<const sockaddr*>(&server.addr), server.len) != 0 && errno != EINPROGRESS)
    return fmt::format("connect {}: {}", server.to_string(), std::strerror(errno));
  if (!wait_fd(fd, POLLOUT, deadline)) return fmt::format("connect {}: timeout", server.to_string());
  int so_error = 0;
  socklen_t sl = sizeof so_error;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &sl);
  if (so_error != 0) return fmt::format("connect {}: {}", server.to_string(), std::strerror(so_error));

  const std::string req = fmt::format("GET {} HTTP/1.0\r\nHost: {}\r\nConnection: close\r\n\r\n", path, server.to_string());
  size_t sent = 0;
  while (sent < req.size()) {
    const ssize_t n = send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_fd(fd, POLLOUT, deadline)) return "send: timeout";
    } else {
      return fmt::format("send: {}", std::strerror(errno));
    }
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      raw.append(buf, static_cast<size_t>(n));
      if (raw.size() > (64u << 20)) return "response larger than 64 MiB";
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!wait_fd(fd, POLLIN, deadline)) return "recv: timeout";
    } else {
      return fmt::format("recv: {}", std::strerror(errno));
    }
  }
  const size_t head_end = raw.find("\r\n\r\n");
  if (raw.compare(0, 5, "HTTP/") != 0 || head_end == std::string::npos) return "malformed HTTP response";
  const size_t sp = raw.find(' ');
  if (sp == std::string::npos || sp + 4 > head_end) return "malformed HTTP status line";
  auto [p, ec] = std::from_chars(raw.data() + sp + 1, raw.data() + sp + 4, out.status);
  if (ec != std::errc{}) return "malformed HTTP status code";
  out.body = raw.substr(head_end + 4);
  return {};
}

}  // namespace aigw::sim
