// Opening UDP sockets on loopback: port 0 is resolved, a taken port is refused with the
// address in the message and nothing left open, SO_REUSEPORT shares a port, IPV6_V6ONLY
// is honoured either way, and datagrams pass between opened sockets, including from an
// IPv4 peer to a dual-stack socket and back.
#include "protocol/udp_socket.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace aigw {
namespace {

UdpEndpoint endpoint(const char* text) {
  UdpEndpoint e;
  EXPECT_EQ(parse_endpoint(text, e), "");
  return e;
}

// Closes the fd at scope exit, so a failed assertion leaks nothing into later tests.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

int open_fd_count() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n;
}

// Loopback IPv6 may be absent in a container; those tests skip rather than fail.
bool ipv6_loopback_available() {
  UdpEndpoint bound;
  std::string error;
  Fd s(open_udp_socket(endpoint("[::1]:0"), {}, bound, error));
  return s.fd >= 0;
}

// The one datagram `fd` receives within a second, and where it came from.
std::string receive(int fd, UdpEndpoint& from) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 1000) != 1) return "(nothing)";
  char buf[256];
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  const ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&sa), &len);
  if (n < 0) return std::string("(recvfrom: ") + std::strerror(errno) + ")";
  from = endpoint_from_sockaddr(reinterpret_cast<sockaddr*>(&sa), len);
  return std::string(buf, static_cast<size_t>(n));
}

bool send_to(int fd, const UdpEndpoint& to, const std::string& text) {
  return sendto(fd, text.data(), text.size(), 0, to.sa(), to.len) == static_cast<ssize_t>(text.size());
}

int socket_option(int fd, int level, int option) {
  int value = -1;
  socklen_t len = sizeof value;
  EXPECT_EQ(getsockopt(fd, level, option, &value, &len), 0) << std::strerror(errno);
  return value;
}

TEST(OpenUdpSocket, BindsIpv4LoopbackAndResolvesPortZero) {
  UdpEndpoint bound;
  std::string error;
  Fd s(open_udp_socket(endpoint("127.0.0.1:0"), {}, bound, error));
  ASSERT_GE(s.fd, 0) << error;
  EXPECT_EQ(error, "");
  EXPECT_EQ(bound.family(), AF_INET);
  EXPECT_EQ(bound.host(), "127.0.0.1");
  EXPECT_NE(bound.port(), 0);
  EXPECT_EQ(local_endpoint(s.fd), bound);
  EXPECT_EQ(socket_option(s.fd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
  EXPECT_NE(fcntl(s.fd, F_GETFL) & O_NONBLOCK, 0);  // non-blocking unless asked
  EXPECT_NE(fcntl(s.fd, F_GETFD) & FD_CLOEXEC, 0);
}

TEST(OpenUdpSocket, BindsIpv6LoopbackAndResolvesPortZero) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback";
  UdpEndpoint bound;
  std::string error;
  Fd s(open_udp_socket(endpoint("[::1]:0"), {}, bound, error));
  ASSERT_GE(s.fd, 0) << error;
  EXPECT_EQ(bound.family(), AF_INET6);
  EXPECT_EQ(bound.host(), "::1");
  EXPECT_NE(bound.port(), 0);
  EXPECT_EQ(bound.to_string(), "[::1]:" + std::to_string(bound.port()));
  EXPECT_EQ(local_endpoint(s.fd), bound);
}

TEST(OpenUdpSocket, BlockingWhenAsked) {
  UdpSocketOptions opts;
  opts.blocking = true;
  UdpEndpoint bound;
  std::string error;
  Fd s(open_udp_socket(endpoint("127.0.0.1:0"), opts, bound, error));
  ASSERT_GE(s.fd, 0) << error;
  EXPECT_EQ(fcntl(s.fd, F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(fcntl(s.fd, F_GETFD) & FD_CLOEXEC, 0);
}

TEST(OpenUdpSocket, ATakenPortIsRefusedNamingTheAddressAndLeavesNothingOpen) {
  UdpEndpoint first;
  std::string error;
  Fd a(open_udp_socket(endpoint("127.0.0.1:0"), {}, first, error));
  ASSERT_GE(a.fd, 0) << error;
  const int fds_before = open_fd_count();
  UdpEndpoint second = endpoint("9.9.9.9:9");
  errno = 0;
  const int fd = open_udp_socket(first, {}, second, error);
  const int saved_errno = errno;
  EXPECT_EQ(fd, -1);
  if (fd >= 0) close(fd);
  EXPECT_EQ(saved_errno, EADDRINUSE);  // preserved past the close
  EXPECT_EQ(error, "bind " + first.to_string() + ": " + std::strerror(EADDRINUSE));
  EXPECT_EQ(open_fd_count(), fds_before);
  EXPECT_EQ(second.to_string(), "9.9.9.9:9");  // `bound` untouched on failure
}

TEST(OpenUdpSocket, ANonAddressFailsAtSocket) {
  UdpEndpoint bound;
  std::string error;
  errno = 0;
  EXPECT_EQ(open_udp_socket(UdpEndpoint(), {}, bound, error), -1);
  EXPECT_EQ(errno, EAFNOSUPPORT);
  EXPECT_EQ(error.rfind("socket: ", 0), 0u) << error;
}

TEST(OpenUdpSocket, ReusePortLetsTwoSocketsShareAPort) {
  UdpSocketOptions shared;
  shared.reuse_port = true;
  UdpEndpoint first;
  UdpEndpoint second;
  std::string error;
  Fd a(open_udp_socket(endpoint("127.0.0.1:0"), shared, first, error));
  ASSERT_GE(a.fd, 0) << error;
  Fd b(open_udp_socket(first, shared, second, error));
  ASSERT_GE(b.fd, 0) << error;
  EXPECT_EQ(second, first);
  EXPECT_EQ(socket_option(b.fd, SOL_SOCKET, SO_REUSEPORT), 1);
  // Both must ask: a third socket without the option is refused.
  UdpEndpoint third;
  Fd c(open_udp_socket(first, {}, third, error));
  EXPECT_EQ(c.fd, -1);
}

TEST(OpenUdpSocket, ADatagramPassesBetweenTwoOpenedSockets) {
  UdpEndpoint a_end;
  UdpEndpoint b_end;
  std::string error;
  Fd a(open_udp_socket(endpoint("127.0.0.1:0"), {}, a_end, error));
  ASSERT_GE(a.fd, 0) << error;
  Fd b(open_udp_socket(endpoint("127.0.0.1:0"), {}, b_end, error));
  ASSERT_GE(b.fd, 0) << error;
  ASSERT_TRUE(send_to(a.fd, b_end, "hello")) << std::strerror(errno);
  UdpEndpoint from;
  EXPECT_EQ(receive(b.fd, from), "hello");
  EXPECT_EQ(from, a_end);
  ASSERT_TRUE(send_to(b.fd, from, "back")) << std::strerror(errno);
  EXPECT_EQ(receive(a.fd, from), "back");
  EXPECT_EQ(from, b_end);
}

TEST(OpenUdpSocket, ADualStackSocketHearsAndAnswersAnIpv4Peer) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback";
  UdpEndpoint v6_end;
  UdpEndpoint v4_end;
  std::string error;
  Fd v6(open_udp_socket(any_endpoint(AF_INET6, 0), {}, v6_end, error));  // v6_only = false
  ASSERT_GE(v6.fd, 0) << error;
  EXPECT_EQ(socket_option(v6.fd, IPPROTO_IPV6, IPV6_V6ONLY), 0);
  Fd v4(open_udp_socket(endpoint("127.0.0.1:0"), {}, v4_end, error));
  ASSERT_GE(v4.fd, 0) << error;

  UdpEndpoint v6_as_v4;
  ASSERT_EQ(make_endpoint("127.0.0.1", v6_end.port(), v6_as_v4), "");
  ASSERT_TRUE(send_to(v4.fd, v6_as_v4, "hello")) << std::strerror(errno);
  UdpEndpoint from;
  EXPECT_EQ(receive(v6.fd, from), "hello");
  EXPECT_EQ(from, v4_end);  // heard v4-mapped, named by its IPv4 address

  UdpEndpoint reply_to;
  ASSERT_TRUE(to_socket_family(from, AF_INET6, reply_to));
  ASSERT_TRUE(send_to(v6.fd, reply_to, "pong")) << std::strerror(errno);
  EXPECT_EQ(receive(v4.fd, from), "pong");
  EXPECT_EQ(from, v6_as_v4);
}

TEST(OpenUdpSocket, V6OnlyLeavesTheIpv4PortFree) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback";
  for (const bool v6_only : {true, false}) {
    SCOPED_TRACE(v6_only ? "v6_only" : "dual-stack");
    UdpSocketOptions opts;
    opts.v6_only = v6_only;
    UdpEndpoint v6_end;
    std::string error;
    Fd v6(open_udp_socket(any_endpoint(AF_INET6, 0), opts, v6_end, error));
    ASSERT_GE(v6.fd, 0) << error;
    EXPECT_EQ(socket_option(v6.fd, IPPROTO_IPV6, IPV6_V6ONLY), v6_only ? 1 : 0);
    UdpEndpoint v4_end;
    Fd v4(open_udp_socket(any_endpoint(AF_INET, v6_end.port()), {}, v4_end, error));
    EXPECT_EQ(v4.fd >= 0, v6_only) << error;
  }
}

TEST(OpenUdpSocket, SetsTheBufferSizesAsked) {
  // Small enough for the unprivileged caps (net.core.[rw]mem_max default to 208 KiB);
  // the kernel reports twice what was set, the rest being its bookkeeping.
  UdpSocketOptions opts;
  opts.buffer_bytes = 40000;
  UdpEndpoint bound;
  std::string error;
  Fd same(open_udp_socket(endpoint("127.0.0.1:0"), opts, bound, error));
  ASSERT_GE(same.fd, 0) << error;
  EXPECT_EQ(socket_option(same.fd, SOL_SOCKET, SO_RCVBUF), 80000);
  EXPECT_EQ(socket_option(same.fd, SOL_SOCKET, SO_SNDBUF), 80000);
  opts.send_buffer_bytes = 30000;
  Fd split(open_udp_socket(endpoint("127.0.0.1:0"), opts, bound, error));
  ASSERT_GE(split.fd, 0) << error;
  EXPECT_EQ(socket_option(split.fd, SOL_SOCKET, SO_RCVBUF), 80000);
  EXPECT_EQ(socket_option(split.fd, SOL_SOCKET, SO_SNDBUF), 60000);
}

TEST(LocalEndpoint, OfAClosedFdIsNotValid) { EXPECT_FALSE(local_endpoint(-1).valid()); }

TEST(LocalAddressTowards, NamesTheLoopbackAddressForALoopbackPeer) {
  UdpEndpoint bound;
  std::string error;
  Fd peer(open_udp_socket(endpoint("127.0.0.1:0"), {}, bound, error));
  ASSERT_GE(peer.fd, 0) << error;
  EXPECT_EQ(local_address_towards(bound), "127.0.0.1");
  EXPECT_EQ(receive(peer.fd, bound), "(nothing)");  // asking sent nothing
  EXPECT_EQ(local_address_towards(UdpEndpoint()), "");
  if (ipv6_loopback_available()) {
    EXPECT_EQ(local_address_towards(endpoint("[::1]:9")), "::1");
  }
}

}  // namespace
}  // namespace aigw
