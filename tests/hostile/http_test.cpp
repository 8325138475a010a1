// Hostile HTTP clients, black box, against the controller's API and a gateway's
// metrics endpoint (both libmicrohttpd): huge request lines and headers, clients that
// send a byte at a time and hold connections open, and bad query parameters. What must
// hold: a clear 4xx for what is malformed, and a well-behaved client from another
// address still served promptly while the attack runs.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "tests/controller/cluster_harness.h"

namespace aigw::hostile {
namespace {

using controller::itest::Clock;
using controller::itest::Cluster;
using controller::itest::GatewayOptions;

/// A TCP connection from 127.0.0.`host` to 127.0.0.1:`port`; -1 when refused.
int connect_from(uint8_t host, uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(0x7f000000u | host);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/// Sends `request` and reads the answer until the server closes or `timeout_ms` pass.
std::string exchange(int fd, const std::string& request, int timeout_ms) {
  size_t off = 0;
  while (off < request.size()) {
    const ssize_t n = send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close on an oversized request: read its answer
    off += size_t(n);
  }
  std::string out;
  const auto end = Clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  while (Clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, size_t(n));
  }
  return out;
}

/// The status code of one request on a new connection from 127.0.0.`host`; 0 when the
/// connection was refused or nothing came back.
int status_of(uint8_t host, uint16_t port, const std::string& request, int timeout_ms = 3000) {
  const int fd = connect_from(host, port);
  if (fd < 0) return 0;
  const std::string answer = exchange(fd, request, timeout_ms);
  close(fd);
  if (answer.rfind("HTTP/1.", 0) != 0 || answer.size() < 12) return 0;
  return std::stoi(answer.substr(9, 3));
}

std::string get(const std::string& target) { return "GET " + target + " HTTP/1.0\r\nHost: localhost\r\n\r\n"; }

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    c.start_controller(c.controller_config());
    c.start_gateway(1, GatewayOptions{});
    ASSERT_TRUE(c.wait_until([&] { return status_of(1, metrics_port(), get("/metrics")) == 200; }, 5000));
  }
  uint16_t api_port() const { return c.http_port(); }
  uint16_t metrics_port() const { return c.gateway(1).metrics_port; }

  /// A client from 127.0.0.1 gets `target` from `port` with 200; the slowest answer in ms.
  double served_while(uint16_t port, const std::string& target, const std::function<bool()>& attack_running) {
    double slowest = 0;
    int served = 0;
    while (attack_running()) {
      const auto t0 = Clock::now();
      EXPECT_EQ(status_of(1, port, get(target)), 200) << target << " on port " << port << " during the attack";
      slowest = std::max(slowest, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      ++served;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_GT(served, 0);
    return slowest;
  }

  Cluster c;
};

TEST_F(HttpTest, HugeRequestLinesAndHeadersGetAnErrorAndTheServerStaysUp) {
  for (uint16_t port : {api_port(), metrics_port()}) {
    const std::string long_target = "/api/v1/status?" + std::string(1 << 20, 'a');
    const int line = status_of(2, port, get(long_target));
    EXPECT_TRUE(line == 414 || line == 400 || line == 0) << "1 MiB request line: " << line;
    std::string headers = "GET /metrics HTTP/1.0\r\n";
    for (int i = 0; i < 2000; ++i) headers += "X-Filler-" + std::to_string(i) + ": " + std::string(512, 'b') + "\r\n";
    headers += "\r\n";
    const int many = status_of(2, port, headers);
    EXPECT_TRUE(many == 431 || many == 413 || many == 400 || many == 0) << "1 MiB of headers: " << many;
    std::string body = "POST /metrics HTTP/1.0\r\nContent-Length: 100000000\r\n\r\n" + std::string(1 << 16, 'c');
    const int post = status_of(2, port, body, 1000);
    EXPECT_NE(post, 200) << "a 100 MB POST is not a scrape";
    EXPECT_EQ(status_of(1, port, get(port == api_port() ? "/api/v1/status" : "/metrics")), 200)
        << "still serving after the oversized requests";
  }
}

TEST_F(HttpTest, SlowClientsHoldingConnectionsDoNotStarveAScraper) {
  for (uint16_t port : {api_port(), metrics_port()}) {
    // 100 connections from another address, each sending its request a byte every
    // 200 ms (never finishing within the test), for 3 s.
    std::vector<int> slow;
    for (int i = 0; i < 100; ++i)
      if (int fd = connect_from(3, port); fd >= 0) slow.push_back(fd);
    std::atomic<bool> running{true};
    std::thread drip([&] {
      const std::string req = get("/metrics");
      for (size_t k = 0; running && k < req.size() - 2; ++k) {
        for (int fd : slow) (void)!send(fd, &req[k], 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    });
    const auto until = Clock::now() + std::chrono::seconds(3);
    const std::string target = port == api_port() ? "/api/v1/status" : "/metrics";
    const double slowest = served_while(port, target, [&] { return Clock::now() < until; });
    running = false;
    drip.join();
    for (int fd : slow) close(fd);
    std::fprintf(stderr, "http: %zu slow connections to port %u; a scraper from another address was answered in <= %.0f ms\n",
                 slow.size(), port, slowest);
    EXPECT_LT(slowest, 1000);
  }
}

TEST_F(HttpTest, BadQueryParametersGet400WithAReason) {
  for (const char* q : {"limit=abc", "limit=-1", "limit=0", "limit=99999999999999999999", "after=x", "gateway=",
                        "gateway=-3", "colour=blue", "limit=5&limit=6"}) {
    const int fd = connect_from(1, api_port());
    ASSERT_GE(fd, 0);
    const std::string answer = exchange(fd, get(std::string("/api/v1/streams?") + q), 3000);
    close(fd);
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 400") << q << "\n" << answer.substr(0, 200);
    EXPECT_NE(answer.find("error"), std::string::npos) << q << ": the body says why";
  }
  EXPECT_EQ(status_of(1, api_port(), get("/api/v1/streams?limit=5")), 200);
  EXPECT_EQ(status_of(1, api_port(), get("/api/v1/nothing-here")), 404);
  EXPECT_EQ(status_of(1, metrics_port(), get("/nothing-here")), 404);
}

}  // namespace
}  // namespace aigw::hostile
