// `aigwctl key derive|generate`: the key printed is the one the controller derives.
#include "controller/cli/key_commands.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "controller/core/config.h"
#include "controller/core/ctl_commands.h"
#include "protocol/node_keys.h"

namespace aigw::controller {
namespace {

const char* kMaster = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

class KeyCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/aigw-keycmd-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    ControllerConfig c;
    c.keys.push_back({1, kMaster, {}});
    c.keys.push_back({2, std::string(64, 'e'), {"device"}});
    std::string error;
    ASSERT_TRUE(save_config(dir_ + "/controller.toml", c, error)) << error;
  }
  void TearDown() override {
    std::remove((dir_ + "/controller.toml").c_str());
    rmdir(dir_.c_str());
  }
  KeyDeriveRequest request(const std::string& role, uint32_t node, uint32_t key_id = 0) const {
    return {dir_ + "/controller.toml", key_id, role, node};
  }
  std::string dir_;
};

TEST_F(KeyCommands, DeriveGivesTheNodeKeyTheControllerChecks) {
  nlohmann::json out;
  std::string error;
  ASSERT_EQ(derive_key(request("gateway", 3), out, error), kExitOk) << error;
  ControlKey master;
  ASSERT_TRUE(KeyRing::parse_hex(kMaster, master));
  ControlKey printed;
  ASSERT_TRUE(KeyRing::parse_hex(out["key"].get<std::string>(), printed));
  EXPECT_EQ(printed, derive_node_key(master, make_sender_id(NodeRole::gateway, 3)));
  EXPECT_EQ(out["key_id"], 1);
  EXPECT_EQ(out["sender_id"], make_sender_id(NodeRole::gateway, 3));
}

TEST_F(KeyCommands, BadRequestsSayWhyWithTheirExitCodes) {
  nlohmann::json out;
  std::string error;
  EXPECT_EQ(derive_key(request("controller", 1), out, error), kExitUsage) << "nobody holds the controller's key";
  EXPECT_EQ(derive_key(request("device", 0), out, error), kExitUsage);
  EXPECT_EQ(derive_key(request("device", 5, 9), out, error), kExitDataErr);
  EXPECT_NE(error.find("no key with id 9"), std::string::npos) << error;
  EXPECT_EQ(derive_key(request("gateway", 5, 2), out, error), kExitDataErr) << "key 2 is for devices";
  EXPECT_EQ(derive_key(request("device", 5, 2), out, error), kExitOk) << error;
  KeyDeriveRequest missing = request("device", 5);
  missing.config_path = dir_ + "/nothing.toml";
  EXPECT_EQ(derive_key(missing, out, error), kExitConfig);
}

TEST(KeyGenerate, GivesDistinctValidMasters) {
  const std::string a = generate_master_key(), b = generate_master_key();
  ControlKey k;
  EXPECT_TRUE(KeyRing::parse_hex(a, k));
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace aigw::controller
