// The real daemon on loopback: fake gateway, GPU server and device speak real
// envelopes over UDP; aigwctl runs against the unix socket; the HTTP API is read over
// TCP. Everything binds port 0 on 127.0.0.1.
#include "controller/daemon/daemon.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "control_peer.h"
#include "sim/live/http_get.h"
#include "tests/common/shell_command.h"

namespace aigw::controller {
namespace {

using namespace testing;

/// A UDP socket on 127.0.0.1 port 0 that seals as one node.
class Node {
 public:
  // Counters from the wall clock, as real nodes seal: the daemon refuses a first
  // envelope sealed before it started.
  Node(NodeRole role, uint32_t id, uint64_t first_counter = envelope_counter_start())
      : peer_(role, id, 1, test_key(), first_counter), keys_(make_sender_id(role, id)) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    keys_.add_own(1, derive_node_key(test_key(), keys_.self()));
  }
  ~Node() { close(fd_); }
  uint16_t port() const { return port_; }
  std::vector<uint8_t> seal(MessageType t, const google::protobuf::MessageLite& m) { return peer_.seal(t, m); }
  void send_raw(uint16_t to_port, const std::vector<uint8_t>& d) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(to_port);
    sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  }
  void send(uint16_t to_port, MessageType t, const google::protobuf::MessageLite& m) { send_raw(to_port, seal(t, m)); }
  /// Next authentic message of type `t` within `ms`, or false.
  bool receive(MessageType t, std::string& body, int ms = 2000) {
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, ms) <= 0) return false;
      std::array<uint8_t, 65536> buf;
      const ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
      EnvelopeView v;
      if (n <= 0 || opener_.open(buf.data(), size_t(n), v) != EnvelopeError::ok) continue;
      if (v.type != t) continue;
      body.assign(reinterpret_cast<const char*>(v.body), v.body_len);
      return true;
    }
  }

 private:
  Peer peer_;
  int fd_ = -1;
  uint16_t port_ = 0;
  NodeKeys keys_;
  EnvelopeOpener opener_{keys_};
};

std::string http_get(uint16_t port, const std::string& path) {
  UdpEndpoint server;
  make_endpoint("127.0.0.1", port, server);
  sim::HttpResponse r;
  return sim::http_get(server, path, 5000, r).empty() ? r.body : "";
}

using test::CommandResult;

// aigwctl's exit status and stdout (its stderr is discarded: the tests parse stdout).
CommandResult aigwctl(const std::string& socket, const std::string& args) {
  const char* exe = std::getenv("AIGWCTL");
  EXPECT_NE(exe, nullptr) << "AIGWCTL is not set";
  if (exe == nullptr) return {};
  return test::run_command(std::string(exe) + " -s " + socket + " " + args + " 2>/dev/null");
}

// One request line on the control socket, as a hostile or careless local client would
// write it; the answer line, or "" when the daemon closed without one.
std::string ctl_line(const std::string& socket_path, const std::string& line) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path.c_str());
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::write(fd, line.data(), line.size()) == ssize_t(line.size())) {
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) answer.append(buf, size_t(n));
  }
  ::close(fd);
  return answer;
}

struct DaemonTest : ::testing::Test {
  std::string dir;
  std::string config_path;
  ControllerConfig cfg = test_config();
  std::unique_ptr<Daemon> daemon;
  std::thread loop;

  void SetUp() override {
    char tmpl[] = "/tmp/aigw-daemon-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
    config_path = dir + "/controller.toml";
    cfg.control_socket = dir + "/controller.sock";
    cfg.http_listen = "127.0.0.1:0";
    cfg.sync_period_ms = 200;
    std::string error;
    ASSERT_TRUE(save_config(config_path, cfg, error)) << error;
    daemon = Daemon::create(cfg, config_path, error);
    ASSERT_NE(daemon, nullptr) << error;
    ASSERT_NE(daemon->udp_port(), 0);
    ASSERT_NE(daemon->http_port(), 0);
    loop = std::thread([this] { daemon->run(false); });
  }
  void TearDown() override {
    if (daemon) daemon->stop();
    if (loop.joinable()) loop.join();
    daemon.reset();
    std::remove(config_path.c_str());
    rmdir(dir.c_str());
  }
};

TEST_F(DaemonTest, AdmissionRoundTripOverUdp) {
  Node gw(NodeRole::gateway, 1), gpu(NodeRole::gpu, 1), dev(NodeRole::device, 7);
  gpu.send(daemon->udp_port(), MessageType::gpu_register, gpu_register(1, 9999));
  gw.send(daemon->udp_port(), MessageType::load_sync, load_sync(1, 1, gw.port(), 9001));
  // The device's control port is where it listens; the reply comes back to its source.
  dev.send(daemon->udp_port(), MessageType::admission_request, admission(7, 1, dev.port()));
  std::string body;
  ASSERT_TRUE(gw.receive(MessageType::stream_assign, body));
  ctl::StreamAssign assign;
  ASSERT_TRUE(assign.ParseFromString(body));
  ASSERT_TRUE(dev.receive(MessageType::admission_reply, body));
  ctl::AdmissionReply reply;
  ASSERT_TRUE(reply.ParseFromString(body));
  EXPECT_EQ(reply.status(), ctl::ADMISSION_ACCEPTED);
  EXPECT_EQ(reply.gateway_port(), 9001u);
  EXPECT_EQ(reply.gpu_port(), 9999u);
  EXPECT_EQ(assign.stream().stream_id(), reply.stream_id());

  // The same request again (device retry): same stream.
  dev.send(daemon->udp_port(), MessageType::admission_request, admission(7, 1, dev.port()));
  ASSERT_TRUE(dev.receive(MessageType::admission_reply, body));
  ctl::AdmissionReply again;
  ASSERT_TRUE(again.ParseFromString(body));
  EXPECT_EQ(again.stream_id(), reply.stream_id());

  // Heartbeat answered to the sender.
  ctl::Heartbeat hb;
  hb.set_sender_id(make_sender_id(NodeRole::device, 7));
  hb.set_seq(5);
  dev.send(daemon->udp_port(), MessageType::heartbeat, hb);
  ASSERT_TRUE(dev.receive(MessageType::heartbeat, body));

  // HTTP JSON sees the stream (the snapshot is refreshed every 250 ms).
  nlohmann::json page;
  for (int i = 0; i < 40; ++i) {
    page = nlohmann::json::parse(http_get(daemon->http_port(), "/api/v1/streams"), nullptr, false);
    if (page.is_object() && page["streams"].size() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(page.is_object()) << page.dump();
  ASSERT_EQ(page["streams"].size(), 1u);
  EXPECT_EQ(page["streams"][0]["id"], reply.stream_id());
  EXPECT_TRUE(page["next"].is_null());
  EXPECT_EQ(page["total"], 1);
  EXPECT_NE(http_get(daemon->http_port(), "/nope").find("not found"), std::string::npos);
}

// listen = "[::]:0" is dual-stack: an IPv4 node is heard, named by its IPv4 address
// (not ::ffff:127.0.0.1), and answered through the same IPv6 socket.
TEST(DaemonDualStack, AnIpv6ListenHearsAndReachesIpv4Nodes) {
  char tmpl[] = "/tmp/aigw-daemon-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  ControllerConfig cfg = test_config();
  cfg.listen = "[::]:0";
  cfg.control_socket = dir + "/controller.sock";
  cfg.http_listen = "127.0.0.1:0";
  std::string error;
  std::unique_ptr<Daemon> daemon = Daemon::create(cfg, "", error);
  if (daemon == nullptr && error.find("socket:") == 0) GTEST_SKIP() << "no IPv6 here: " << error;
  ASSERT_NE(daemon, nullptr) << error;
  std::thread loop([&] { daemon->run(false); });

  Node gw(NodeRole::gateway, 1), dev(NodeRole::device, 7);
  ctl::LoadSync sync = load_sync(1, 1, gw.port(), 9001);
  // Both addresses left to "the source of my datagrams".
  sync.clear_control_address();
  sync.mutable_ports(0)->clear_address();
  gw.send(daemon->udp_port(), MessageType::load_sync, sync);
  ctl::Heartbeat hb;
  hb.set_sender_id(make_sender_id(NodeRole::device, 7));
  dev.send(daemon->udp_port(), MessageType::heartbeat, hb);
  std::string body;
  EXPECT_TRUE(dev.receive(MessageType::heartbeat, body));
  nlohmann::json gateways;
  for (int i = 0; i < 40; ++i) {
    gateways = nlohmann::json::parse(http_get(daemon->http_port(), "/api/v1/gateways"), nullptr, false);
    if (gateways.is_array() && gateways.size() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(gateways.is_array() && gateways.size() == 1) << gateways.dump();
  if (gateways.is_array() && gateways.size() == 1) {
    EXPECT_EQ(gateways[0]["control"], fmt::format("127.0.0.1:{}", gw.port()));
    EXPECT_EQ(gateways[0]["ports"][0]["address"], "127.0.0.1");
  }

  daemon->stop();
  loop.join();
  daemon.reset();
  rmdir(dir.c_str());
}

TEST_F(DaemonTest, StreamListingIsPagedOverHttpAndAigwctl) {
  // Streams 1..5 on gateway 1 and 6..7 on gateway 2, as their StreamSyncs list them.
  Node gw1(NodeRole::gateway, 1), gw2(NodeRole::gateway, 2);
  for (Node* gw : {&gw1, &gw2}) {
    const uint32_t id = gw == &gw1 ? 1 : 2;
    gw->send(daemon->udp_port(), MessageType::load_sync, load_sync(id, 1, gw->port(), 9000 + id));
    ctl::StreamSync ss;
    ss.set_gateway_id(id);
    ss.set_period_seq(1);
    for (uint32_t sid = id == 1 ? 1 : 6; sid <= (id == 1 ? 5u : 7u); ++sid) {
      ctl::StreamEntry* e = ss.add_streams();
      e->set_stream_id(sid);
      e->set_data_port(9000 + id);
    }
    gw->send(daemon->udp_port(), MessageType::stream_sync, ss);
  }
  const uint16_t http = daemon->http_port();
  nlohmann::json page;
  for (int i = 0; i < 40; ++i) {
    page = nlohmann::json::parse(http_get(http, "/api/v1/streams?limit=3"), nullptr, false);
    if (page.is_object() && page["total"] == 7) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(page["total"], 7) << page.dump();
  ASSERT_EQ(page["streams"].size(), 3u);
  EXPECT_EQ(page["next"], 3);
  page = nlohmann::json::parse(http_get(http, "/api/v1/streams?limit=3&after=6"), nullptr, false);
  ASSERT_EQ(page["streams"].size(), 1u);
  EXPECT_EQ(page["streams"][0]["id"], 7);
  EXPECT_TRUE(page["next"].is_null());
  page = nlohmann::json::parse(http_get(http, "/api/v1/streams?gateway=2"), nullptr, false);
  ASSERT_EQ(page["streams"].size(), 2u);
  EXPECT_EQ(page["total"], 2);
  for (const char* bad : {"/api/v1/streams?limit=0", "/api/v1/streams?limit=10001", "/api/v1/streams?after=x",
                          "/api/v1/streams?page=2", "/api/v1/status?limit=1"})
    EXPECT_NE(http_get(http, bad).find("\"error\""), std::string::npos) << bad;

  // aigwctl: one page, or every page through `next` with --all.
  CommandResult r = aigwctl(cfg.control_socket, "--json streams --limit 2 --after 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  page = nlohmann::json::parse(r.output, nullptr, false);
  ASSERT_EQ(page["streams"].size(), 2u) << r.output;
  EXPECT_EQ(page["streams"][0]["id"], 2);
  EXPECT_EQ(page["next"], 3);
  r = aigwctl(cfg.control_socket, "streams --all --limit 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  page = nlohmann::json::parse(r.output, nullptr, false);
  ASSERT_EQ(page["streams"].size(), 7u) << r.output;
  for (uint32_t i = 0; i < 7; ++i) EXPECT_EQ(page["streams"][i]["id"], i + 1);
  EXPECT_TRUE(page["next"].is_null());
  EXPECT_EQ(page["total"], 7);
  r = aigwctl(cfg.control_socket, "streams --all --limit 1 --gateway 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  page = nlohmann::json::parse(r.output, nullptr, false);
  ASSERT_EQ(page["streams"].size(), 2u) << r.output;
  EXPECT_EQ(page["streams"][1]["id"], 7);
  r = aigwctl(cfg.control_socket, "streams --limit 4");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("MIGRATING_TO"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("4 of 7 streams; next page: --after 4"), std::string::npos) << r.output;
  r = aigwctl(cfg.control_socket, "ids streams");
  EXPECT_EQ(r.output, "1\n2\n3\n4\n5\n6\n7\n");
  EXPECT_EQ(aigwctl(cfg.control_socket, "streams --limit 0").exit_code, 64);
  EXPECT_EQ(aigwctl(cfg.control_socket, "streams --limit 10001").exit_code, 64);
}

TEST_F(DaemonTest, ForgedAndReplayedPacketsAreRejectedAndCounted) {
  Node gw(NodeRole::gateway, 1);
  const auto datagram = gw.seal(MessageType::load_sync, load_sync(1, 1, gw.port(), 9001));
  gw.send_raw(daemon->udp_port(), datagram);
  gw.send_raw(daemon->udp_port(), datagram);  // replay
  auto forged = gw.seal(MessageType::load_sync, load_sync(1, 2, gw.port(), 9001));
  forged[30] ^= 0x01;  // flip a body bit: the MAC no longer matches
  gw.send_raw(daemon->udp_port(), forged);
  gw.send_raw(daemon->udp_port(), std::vector<uint8_t>(40, 0x00));
  std::string metrics;
  for (int i = 0; i < 40; ++i) {
    metrics = http_get(daemon->http_port(), "/metrics");
    if (metrics.find("reason=\"truncated\"} 1") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(metrics.find("aigw_controller_rx_rejected_total{reason=\"replayed\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("aigw_controller_rx_rejected_total{reason=\"bad_mac\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("aigw_controller_rx_rejected_total{reason=\"truncated\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("aigw_controller_rx_messages_total{type=\"load_sync\"} 1"), std::string::npos);
}

TEST_F(DaemonTest, AigwctlReadsChangesAndPersists) {
  Node gw(NodeRole::gateway, 3);
  gw.send(daemon->udp_port(), MessageType::load_sync, load_sync(3, 1, gw.port(), 9003));

  CommandResult r = aigwctl(cfg.control_socket, "--json status");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto status = nlohmann::json::parse(r.output, nullptr, false);
  ASSERT_TRUE(status.is_object()) << r.output;
  EXPECT_EQ(status["admission_algorithm"], "balanced");

  r = aigwctl(cfg.control_socket, "--json gateways");
  ASSERT_EQ(r.exit_code, 0);
  auto gws = nlohmann::json::parse(r.output, nullptr, false);
  ASSERT_TRUE(gws.is_array());
  ASSERT_EQ(gws.size(), 1u);
  EXPECT_EQ(gws[0]["id"], 3);

  r = aigwctl(cfg.control_socket, "gateways --json");  // the flag after the verb works too
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(nlohmann::json::parse(r.output, nullptr, false).is_array()) << r.output;

  r = aigwctl(cfg.control_socket, "gateways");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("FORECAST"), std::string::npos);

  // A dry run changes nothing.
  r = aigwctl(cfg.control_socket, "config set migration.theta 0.3 --dry-run");
  EXPECT_EQ(r.exit_code, 0);
  r = aigwctl(cfg.control_socket, "--json config get migration.theta");
  EXPECT_EQ(nlohmann::json::parse(r.output)["migration.theta"], 0.1);

  r = aigwctl(cfg.control_socket, "config set migration.theta 0.3");
  EXPECT_EQ(r.exit_code, 0);
  r = aigwctl(cfg.control_socket, "--json config get migration.theta");
  EXPECT_EQ(nlohmann::json::parse(r.output)["migration.theta"], 0.3);
  ControllerConfig saved;
  std::string error;
  ASSERT_TRUE(load_config(config_path, saved, error)) << error;
  EXPECT_DOUBLE_EQ(saved.trigger.theta, 0.3);

  r = aigwctl(cfg.control_socket, "config set admission.algorithm iadga");
  EXPECT_EQ(r.exit_code, 0);
  r = aigwctl(cfg.control_socket, "--json status");
  EXPECT_EQ(nlohmann::json::parse(r.output)["admission_algorithm"], "iadga");

  EXPECT_EQ(aigwctl(cfg.control_socket, "config set migration.theta 7").exit_code, 78);
  EXPECT_EQ(aigwctl(cfg.control_socket, "config set no.such.key 1").exit_code, 64);
  EXPECT_EQ(aigwctl(cfg.control_socket, "frobnicate").exit_code, 64);
  EXPECT_EQ(aigwctl(cfg.control_socket, "drain 99").exit_code, 65);
  EXPECT_EQ(aigwctl(cfg.control_socket, "migrate 5 3").exit_code, 65);

  r = aigwctl(cfg.control_socket, "drain 3 --dry-run");
  EXPECT_EQ(r.exit_code, 0);
  r = aigwctl(cfg.control_socket, "drain 3");
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_TRUE(load_config(config_path, saved, error)) << error;
  EXPECT_EQ(saved.drained_gateways, (std::vector<uint32_t>{3}));
  r = aigwctl(cfg.control_socket, "--json gateways");
  EXPECT_EQ(nlohmann::json::parse(r.output)[0]["draining"], true);

  EXPECT_EQ(aigwctl(dir + "/absent.sock", "status").exit_code, 69);
}

/// What the bash completion offers for `words` (the last one being completed).
std::string complete(const std::string& words) {
  const char* exe = std::getenv("AIGWCTL");
  const char* script = std::getenv("AIGWCTL_COMPLETION");
  EXPECT_TRUE(exe && script);
  if (!exe || !script) return "";
  std::string dir = exe;
  dir = dir.substr(0, dir.rfind('/'));
  const std::string cmd = "PATH='" + dir + "':\"$PATH\" bash -c 'source \"" + script +
                          "\"; COMP_WORDS=(" + words + "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _aigwctl; "
                          "echo \"${COMPREPLY[*]}\"'";
  std::string out = test::run_command(cmd).output;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

TEST_F(DaemonTest, BashCompletionOffersVerbsKeysAndLiveIds) {
  Node gw(NodeRole::gateway, 3);
  gw.send(daemon->udp_port(), MessageType::load_sync, load_sync(3, 1, gw.port(), 9003));
  // Make sure the load sync has been handled before asking for ids.
  for (int i = 0; i < 40 && aigwctl(cfg.control_socket, "--json gateways").output.find("\"id\"") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  EXPECT_EQ(complete("aigwctl mi"), "migrations migrate");
  EXPECT_EQ(complete("aigwctl config s"), "set");
  EXPECT_EQ(complete("aigwctl config set migration.th"), "migration.theta");
  EXPECT_EQ(complete("aigwctl -s " + cfg.control_socket + " drain \"\""), "3");
  EXPECT_EQ(complete("aigwctl drain 3 --d"), "--dry-run");
}

TEST_F(DaemonTest, MistypedControlRequestsGetAnErrorAndTheDaemonCarriesOn) {
  for (const char* line : {R"({"cmd":"status","dry_run":"x"})", R"({"cmd":"config_get","key":1})",
                           R"({"cmd":"drain","gateway":"3"})", R"({"cmd":"streams","limit":1e300})",
                           R"({"cmd":["status"]})", R"([1,2,3])", "not json"}) {
    const auto reply = nlohmann::json::parse(ctl_line(cfg.control_socket, std::string(line) + "\n"), nullptr, false);
    ASSERT_TRUE(reply.is_object()) << line;
    EXPECT_EQ(reply.value("ok", true), false) << line;
    EXPECT_EQ(reply.value("exit", 0), 64) << line;
  }
  EXPECT_EQ(aigwctl(cfg.control_socket, "--json status").exit_code, 0);
}

TEST_F(DaemonTest, TheSocketIsGroupOnlyAndTheSavedConfigOwnerOnly) {
  struct stat st {};
  ASSERT_EQ(::stat(cfg.control_socket.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  ASSERT_EQ(aigwctl(cfg.control_socket, "config set migration.theta 0.2").exit_code, 0);
  ASSERT_EQ(::stat(config_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the file holds the cluster's keys";
}

}  // namespace
}  // namespace aigw::controller
