#include "sim/live/http_get.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace aigw::sim {
namespace {

// A one-shot loopback TCP server answering with `reply` (or nothing when it is empty).
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    make_endpoint("127.0.0.1", 0, ep_);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&ep_.addr), ep_.len), 0);
    EXPECT_EQ(listen(fd_, 1), 0);
    socklen_t l = sizeof ep_.addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&ep_.addr), &l);
    thread_ = std::thread([this] {
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      const ssize_t n = recv(c, buf, sizeof buf, 0);
      request_.assign(buf, n > 0 ? size_t(n) : 0);
      if (!reply_.empty()) {
        (void)!send(c, reply_.data(), reply_.size(), MSG_NOSIGNAL);
        close(c);
      } else {
        usleep(400'000);  // say nothing: the client must time out
        close(c);
      }
    });
  }
  ~OneShotServer() {
    thread_.join();
    close(fd_);
  }
  const UdpEndpoint& endpoint() const { return ep_; }
  std::string request_;

 private:
  std::string reply_;
  int fd_;
  UdpEndpoint ep_;
  std::thread thread_;
};

TEST(HttpGet, ReadsStatusAndBody) {
  OneShotServer s("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\nworld\n");
  HttpResponse r;
  EXPECT_EQ(http_get(s.endpoint(), "/metrics", 2000, r), "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello\nworld\n");
}

TEST(HttpGet, ReportsNonOkStatusAsAResponse) {
  OneShotServer s("HTTP/1.0 404 Not Found\r\n\r\nsee /metrics\n");
  HttpResponse r;
  EXPECT_EQ(http_get(s.endpoint(), "/nope", 2000, r), "");
  EXPECT_EQ(r.status, 404);
}

TEST(HttpGet, TimesOutOnASilentServer) {
  OneShotServer s("");
  HttpResponse r;
  const std::string e = http_get(s.endpoint(), "/", 150, r);
  EXPECT_NE(e.find("timeout"), std::string::npos) << e;
}

TEST(HttpGet, RejectsGarbage) {
  OneShotServer s("SSH-2.0-OpenSSH\r\n");
  HttpResponse r;
  EXPECT_NE(http_get(s.endpoint(), "/", 2000, r), "");
}

TEST(HttpGet, ConnectionRefusedIsAnError) {
  UdpEndpoint closed;
  make_endpoint("127.0.0.1", 1, closed);  // nothing listens on port 1 here
  HttpResponse r;
  EXPECT_NE(http_get(closed, "/", 500, r), "");
}

}  // namespace
}  // namespace aigw::sim
