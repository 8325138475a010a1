// The operator command set without sockets: what aigwctl's requests do and return.
#include "controller/core/ctl_commands.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "control_peer.h"

namespace aigw::controller {
namespace {

using namespace testing;
using Json = nlohmann::json;

struct CtlCommands : ::testing::Test {
  CapturingTransport net;
  ControllerConfig cfg = test_config();
  std::unique_ptr<Controller> ctl;
  std::string path;
  void SetUp() override {
    char tmpl[] = "/tmp/aigw-ctl-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    path = std::string(tmpl) + "/controller.toml";
    ctl = std::make_unique<Controller>(cfg, net, 0, 1);
    Peer gw(NodeRole::gateway, 2);
    auto d = gw.seal(MessageType::load_sync, load_sync(2, 1, 6002, 9002));
    ctl->on_datagram(d.data(), d.size(), loopback(6002), 0);
  }
  void TearDown() override {
    unlink(path.c_str());
    rmdir(path.substr(0, path.rfind('/')).c_str());
  }
  Json run(Json req) { return handle_ctl(*ctl, path, req, 0); }
};

TEST_F(CtlCommands, ReadsReturnTheViews) {
  EXPECT_EQ(run({{"cmd", "status"}})["result"]["gateways_live"], 1);
  EXPECT_EQ(run({{"cmd", "gateways"}})["result"][0]["id"], 2);
  const Json streams = run({{"cmd", "streams"}})["result"];
  EXPECT_TRUE(streams["streams"].empty());
  EXPECT_TRUE(streams["next"].is_null());
  EXPECT_EQ(streams["total"], 0);
  EXPECT_TRUE(run({{"cmd", "gpus"}})["ok"]);
  EXPECT_TRUE(run({{"cmd", "migrations"}})["ok"]);
  EXPECT_EQ(run({{"cmd", "config_get"}, {"key", "migration.theta"}})["result"]["migration.theta"], 0.1);
  EXPECT_TRUE(run({{"cmd", "config_get"}})["result"].contains("admission.algorithm"));
}

TEST_F(CtlCommands, ErrorsCarrySysexitsCodes) {
  EXPECT_EQ(run(Json::array())["exit"], kExitUsage);
  EXPECT_EQ(run({{"cmd", "reboot"}})["exit"], kExitUsage);
  EXPECT_EQ(run({{"cmd", "config_get"}, {"key", "x"}})["exit"], kExitUsage);
  EXPECT_EQ(run({{"cmd", "config_set"}, {"key", "migration.theta"}})["exit"], kExitUsage);
  EXPECT_EQ(run({{"cmd", "config_set"}, {"key", "migration.theta"}, {"value", "9"}})["exit"], kExitConfig);
  EXPECT_EQ(run({{"cmd", "drain"}})["exit"], kExitUsage);
  EXPECT_EQ(run({{"cmd", "drain"}, {"gateway", 5}})["exit"], kExitDataErr);
  EXPECT_EQ(run({{"cmd", "migrate"}, {"stream", 1}, {"gateway", 2}})["exit"], kExitDataErr);
  EXPECT_EQ(handle_ctl(*ctl, "/nonexistent-dir/x.toml",
                       {{"cmd", "config_set"}, {"key", "migration.theta"}, {"value", "0.2"}}, 0)["exit"],
            kExitIoErr);
  EXPECT_DOUBLE_EQ(ctl->config().trigger.theta, 0.1);  // not applied when it cannot be saved
}

TEST_F(CtlCommands, StreamsArePagedByLimitAfterAndGateway) {
  // Streams 1..7 on gateway 2 and 8..12 on gateway 3, as their StreamSyncs list them.
  Peer gw3(NodeRole::gateway, 3);
  auto d = gw3.seal(MessageType::load_sync, load_sync(3, 1, 6003, 9003));
  ctl->on_datagram(d.data(), d.size(), loopback(6003), 0);
  for (uint32_t g : {2u, 3u}) {
    ctl::StreamSync ss;
    ss.set_gateway_id(g);
    ss.set_period_seq(1);
    for (uint32_t id = g == 2 ? 1 : 8; id <= (g == 2 ? 7u : 12u); ++id) {
      ctl::StreamEntry* e = ss.add_streams();
      e->set_stream_id(id);
      e->set_data_port(9000 + g);
    }
    Peer p(NodeRole::gateway, g, 1, test_key(), 100);
    d = p.seal(MessageType::stream_sync, ss);
    ctl->on_datagram(d.data(), d.size(), loopback(uint16_t(6000 + g)), 0);
  }
  ASSERT_EQ(ctl->streams().size(), 12u);
  Json r = run({{"cmd", "streams"}, {"limit", 5}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  EXPECT_EQ(r["result"]["streams"].size(), 5u);
  EXPECT_EQ(r["result"]["next"], 5);
  EXPECT_EQ(r["result"]["total"], 12);
  r = run({{"cmd", "streams"}, {"limit", 5}, {"after", 10}});
  EXPECT_EQ(r["result"]["streams"].size(), 2u);
  EXPECT_EQ(r["result"]["streams"][0]["id"], 11);
  EXPECT_TRUE(r["result"]["next"].is_null());
  r = run({{"cmd", "streams"}, {"gateway", 3}, {"limit", 2}, {"after", 8}});
  EXPECT_EQ(r["result"]["streams"][0]["id"], 9);
  EXPECT_EQ(r["result"]["streams"][1]["id"], 10);
  EXPECT_EQ(r["result"]["next"], 10);
  EXPECT_EQ(r["result"]["total"], 5);

  for (const Json& bad : {Json{{"limit", 0}}, Json{{"limit", 10001}}, Json{{"limit", "5"}}, Json{{"limit", 2.5}},
                          Json{{"after", -1}}, Json{{"after", "x"}}, Json{{"gateway", int64_t(1) << 32}}}) {
    Json req = bad;
    req["cmd"] = "streams";
    EXPECT_EQ(run(req)["exit"], kExitUsage) << bad.dump();
  }
}

TEST_F(CtlCommands, DryRunChangesNothing) {
  Json r = run({{"cmd", "config_set"}, {"key", "load.weight_cpu"}, {"value", "0.5"}, {"dry_run", true}});
  EXPECT_TRUE(r["ok"]);
  EXPECT_DOUBLE_EQ(r["result"]["new"], 0.5);
  EXPECT_DOUBLE_EQ(ctl->config().load.weight_cpu, 1.0 / 3);
  EXPECT_NE(access(path.c_str(), F_OK), 0);  // nothing written
  r = run({{"cmd", "drain"}, {"gateway", 2}, {"dry_run", true}});
  EXPECT_TRUE(r["ok"]);
  EXPECT_FALSE(ctl->gateways().at(2).draining());
}

TEST_F(CtlCommands, ChangesApplyAndPersist) {
  EXPECT_TRUE(run({{"cmd", "config_set"}, {"key", "load.weight_cpu"}, {"value", "0.5"}})["ok"]);
  EXPECT_DOUBLE_EQ(ctl->config().load.weight_cpu, 0.5);
  ControllerConfig saved;
  std::string error;
  ASSERT_TRUE(load_config(path, saved, error)) << error;
  EXPECT_DOUBLE_EQ(saved.load.weight_cpu, 0.5);
  EXPECT_TRUE(run({{"cmd", "drain"}, {"gateway", 2}})["ok"]);
  EXPECT_TRUE(ctl->gateways().at(2).draining());
  ASSERT_TRUE(load_config(path, saved, error));
  EXPECT_EQ(saved.drained_gateways, (std::vector<uint32_t>{2}));
  EXPECT_TRUE(run({{"cmd", "undrain"}, {"gateway", 2}})["ok"]);
  ASSERT_TRUE(load_config(path, saved, error));
  EXPECT_TRUE(saved.drained_gateways.empty());
}

}  // namespace
}  // namespace aigw::controller
