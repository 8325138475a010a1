#include "controller/core/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include <fmt/format.h>

namespace aigw::controller {
namespace {

const char* kKey = "1111111111111111111111111111111111111111111111111111111111111111";

TEST(Config, DefaultsWhenEmpty) {
  ControllerConfig c;
  std::string error;
  ASSERT_TRUE(parse_config("", c, error)) << error;
  EXPECT_EQ(c.admission_algorithm, "balanced");
  EXPECT_DOUBLE_EQ(c.trigger.theta, 0.1);
  EXPECT_DOUBLE_EQ(c.load.bandwidth_smoothing, 0.8);
  EXPECT_DOUBLE_EQ(c.load.utilization_cap, 0.8);
  EXPECT_EQ(c.dead_after_periods, 3u);
}

TEST(Config, ParsesSectionsAndKeys) {
  ControllerConfig c;
  std::string error;
  const std::string text = std::string(R"(
listen = "127.0.0.1:7700"
sync_period_ms = 500
[admission]
algorithm = "iadga"
window_ms = 2.5
k_policy = "even"
[load]
weight_cpu = 0.5
weight_memory = 0.25
weight_net = 0.25
forecast_alpha = 0.3
[migration]
theta = 0.2
lower_threshold = 0.1
consecutive_periods = 2
[[keys]]
id = 4
hex = ")") + kKey + R"("
roles = ["gateway", "device"]
)";
  ASSERT_TRUE(parse_config(text, c, error)) << error;
  EXPECT_EQ(c.sync_period_ms, 500u);
  EXPECT_EQ(c.admission_algorithm, "iadga");
  EXPECT_DOUBLE_EQ(c.admission_window_ms, 2.5);
  EXPECT_EQ(c.admission_k_policy, "even");
  EXPECT_DOUBLE_EQ(c.load.weight_cpu, 0.5);
  EXPECT_DOUBLE_EQ(c.load.forecast_alpha, 0.3);
  EXPECT_DOUBLE_EQ(c.trigger.theta, 0.2);
  EXPECT_EQ(c.trigger.consecutive, 2u);
  ASSERT_EQ(c.keys.size(), 1u);
  EXPECT_EQ(c.keys[0].id, 4u);
  EXPECT_EQ(c.keys[0].roles, (std::vector<std::string>{"gateway", "device"}));
}

TEST(Config, RejectsBadValuesWithTheKeyName) {
  struct Case {
    const char* text;
    const char* needle;
  } cases[] = {
      {"[admission]\nalgorithm = \"random\"", "admission.algorithm"},
      {"[load]\nforecast_alpha = 1.0", "load.forecast_alpha"},
      {"[migration]\ntheta = 0.05\nlower_threshold = 0.1", "lower_threshold"},
      {"sync_period_ms = -5", "sync_period_ms"},
      {"sync_period_ms = \"fast\"", "sync_period_ms"},
      {"[[keys]]\nid = 1\nhex = \"abc\"", "keys"},
      {"listen = ", "line 1"},
  };
  for (const auto& k : cases) {
    ControllerConfig c;
    std::string error;
    EXPECT_FALSE(parse_config(k.text, c, error)) << k.text;
    EXPECT_NE(error.find(k.needle), std::string::npos) << error;
    EXPECT_EQ(c.admission_algorithm, "balanced");  // untouched
  }
}

TEST(Config, ListenAddressesAreNumericWithIpv6InBrackets) {
  for (const char* ok : {"127.0.0.1:7700", "0.0.0.0:0", "[::1]:7700", "[::]:0"}) {
    ControllerConfig c;
    std::string error;
    EXPECT_TRUE(parse_config(fmt::format("listen = \"{}\"\nhttp_listen = \"{}\"", ok, ok), c, error)) << error;
    EXPECT_EQ(c.listen, ok);
    EXPECT_EQ(c.http_listen, ok);
  }
  for (const char* bad : {"", "127.0.0.1", "localhost:80", "127.0.0.1:65536", "127.0.0.1:x", "[::1]80", "[::1",
                          "::1:7700"}) {
    ControllerConfig c;
    std::string error;
    EXPECT_FALSE(parse_config(fmt::format("listen = \"{}\"", bad), c, error)) << bad;
    EXPECT_NE(error.find("listen"), std::string::npos) << error;
  }
  ControllerConfig c;
  std::string error;
  EXPECT_TRUE(parse_config("http_listen = \"\"", c, error)) << error;  // no HTTP API
  EXPECT_FALSE(parse_config("http_listen = \"::1:7780\"", c, error));
}

TEST(Config, SetValidatesAndLeavesTheConfigOnError) {
  ControllerConfig c;
  std::string error;
  EXPECT_TRUE(config_set(c, "migration.theta", "0.25", error)) << error;
  EXPECT_DOUBLE_EQ(c.trigger.theta, 0.25);
  EXPECT_FALSE(config_set(c, "migration.theta", "abc", error));
  EXPECT_FALSE(config_set(c, "migration.theta", "0.01", error));  // below lower_threshold 0.05
  EXPECT_NE(error.find("lower_threshold"), std::string::npos);
  EXPECT_DOUBLE_EQ(c.trigger.theta, 0.25);
  EXPECT_FALSE(config_set(c, "no.such", "1", error));
  EXPECT_FALSE(config_set(c, "listen", "1.2.3.4:5", error));  // needs a restart
  EXPECT_TRUE(config_set(c, "migration.enabled", "false", error));
  EXPECT_FALSE(c.migration_enabled);
  EXPECT_TRUE(config_set(c, "admission.algorithm", "lc", error));
  nlohmann::json v;
  ASSERT_TRUE(config_get(c, "admission.algorithm", v));
  EXPECT_EQ(v, "lc");
  ASSERT_TRUE(config_get(c, "", v));
  EXPECT_TRUE(v.contains("load.forecast_alpha"));
  EXPECT_FALSE(config_get(c, "bogus", v));
}

TEST(Config, PersistsAndReadsBack) {
  char dir[] = "/tmp/aigw-config-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/controller.toml";
  ControllerConfig c;
  std::string error;
  c.keys.push_back({3, kKey, {"gpu"}});
  c.drained_gateways = {4, 9};
  ASSERT_TRUE(config_set(c, "load.weight_net", "0.6", error));
  ASSERT_TRUE(config_set(c, "admission.window_ms", "0.5", error));
  ASSERT_TRUE(save_config(path, c, error)) << error;
  ControllerConfig back;
  ASSERT_TRUE(load_config(path, back, error)) << error;
  EXPECT_DOUBLE_EQ(back.load.weight_net, 0.6);
  EXPECT_DOUBLE_EQ(back.admission_window_ms, 0.5);
  ASSERT_EQ(back.keys.size(), 1u);
  EXPECT_EQ(back.keys[0].hex, kKey);
  EXPECT_EQ(back.drained_gateways, (std::vector<uint32_t>{4, 9}));
  EXPECT_EQ(render_config(back), render_config(c));
  EXPECT_FALSE(load_config(std::string(dir) + "/missing.toml", back, error));
  unlink(path.c_str());
  rmdir(dir);
}

TEST(Config, SettableKeysCoverTheOperatorList) {
  const auto& keys = settable_keys();
  for (const char* k : {"migration.theta", "migration.lower_threshold", "load.bandwidth_smoothing",
                        "load.memory_smoothing", "load.utilization_cap", "load.forecast_alpha", "load.weight_cpu",
                        "load.weight_memory", "load.weight_net", "admission.k_policy", "admission.algorithm",
                        "sync_period_ms", "dead_after_periods"})
    EXPECT_NE(std::find(keys.begin(), keys.end(), k), keys.end()) << k;
}

}  // namespace
}  // namespace aigw::controller
