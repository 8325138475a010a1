// Hostile configuration, black box: each daemon (gateway, controller, GPU server) is run
// with --check-config on a valid file in which one value is zero, negative, absurd, not
// a number, or unknown. Each must exit 78 (EX_CONFIG) and name the offending key; the
// valid file itself must pass, so a failure cannot come from the rest of the file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "tests/common/shell_command.h"

namespace aigw::hostile {
namespace {

constexpr int kExitConfig = 78;
constexpr const char* kKey = "5a17c0de00112233445566778899aabbccddeeff0123456789abcdef01234567";

std::string binary(const char* var) {
  const char* v = std::getenv(var);
  EXPECT_NE(v, nullptr) << var << " is not set";
  return v ? v : "";
}

const std::string kGateway = std::string(R"([gateway]
id = 1
backend = "socket"
log_level = "info"

[control]
bind = "127.0.0.1:0"
controller = "127.0.0.1:7700"
key_id = 1
key = ")") + kKey + R"("
sync_period_ms = 100

[egress]
bind = "127.0.0.1:0"
store_units = 16

[receiver]
unit_deadline_ms = 1500
release_timeout_ms = 2000

[metrics]
enabled = true
bind = "127.0.0.1:0"

[socket]
buffer_bytes = 4194304

[[port]]
address = "127.0.0.1"
port = 9000
capacity_gbps = 1.0
memory_budget_mb = 32
)";

const std::string kController = std::string(R"(listen = "127.0.0.1:7700"
http_listen = "127.0.0.1:0"
sync_period_ms = 100
dead_after_periods = 3

[[keys]]
id = 1
hex = ")") + kKey + R"("
)";

const std::string kGpu = std::string(R"([gpu]
id = 1
models = ["openpose"]
capacity_units_per_s = 5000
data_bind = "127.0.0.1:0"
control_bind = "127.0.0.1:0"
controller = "127.0.0.1:7700"
key_id = 1
key = ")") + kKey + R"("
period_ms = 100

[receiver]
unit_deadline_ms = 1500
)";

/// `toml` with `key = value` set in `[section]` ("" is the top level): the existing line
/// is replaced, or the line is added right after the section header.
std::string with_value(const std::string& toml, const std::string& section, const std::string& key,
                       const std::string& value) {
  const std::string line = key + " = " + value;
  size_t begin = 0, end = toml.size();
  if (!section.empty()) {
    std::string header = "[" + section + "]\n";
    begin = toml.find(header);
    if (begin == std::string::npos) {  // an array of tables: its first element
      header = "[[" + section + "]]\n";
      begin = toml.find(header);
    }
    if (begin == std::string::npos) return toml + "\n[" + section + "]\n" + line + "\n";
    begin += header.size();
  }
  const size_t next = toml.find("\n[", begin);
  if (next != std::string::npos) end = next + 1;
  std::smatch m;
  const std::string body = toml.substr(begin, end - begin);
  if (std::regex_search(body, m, std::regex("(^|\n)" + key + " = [^\n]*"))) {
    const size_t at = begin + size_t(m.position(0)) + (m[1].length());
    return toml.substr(0, at) + line + toml.substr(at + size_t(m.length(0) - m[1].length()));
  }
  return toml.substr(0, begin) + line + "\n" + toml.substr(begin);
}

struct Case {
  const char* section;
  const char* key;
  const char* value;
};

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/aigw-hostile-config-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  test::CommandResult check(const std::string& exe, const std::string& toml) {
    const std::string path = dir_ + "/config.toml";
    std::ofstream(path) << toml;
    return test::run_command("'" + exe + "' --config '" + path + "' --check-config");
  }
  void expect_rejected(const std::string& exe, const std::string& base, const std::vector<Case>& cases) {
    const auto valid = check(exe, base);
    ASSERT_EQ(valid.exit_code, 0) << "the valid base file was refused:\n" << valid.output;
    for (const Case& c : cases) {
      const std::string toml = with_value(base, c.section, c.key, c.value);
      const auto r = check(exe, toml);
      const std::string what = std::string(c.section) + (*c.section ? "." : "") + c.key + " = " + c.value;
      EXPECT_EQ(r.exit_code, kExitConfig) << what << "\n" << r.output;
      EXPECT_NE(r.output.find(c.key), std::string::npos) << what << ": the error must name the key\n" << r.output;
    }
  }

  std::string dir_;
};

TEST_F(ConfigTest, GatewayRefusesZeroNegativeAbsurdAndUnknownValues) {
  expect_rejected(binary("AIGW_GATEWAY"), kGateway,
                  {
                      {"gateway", "id", "-1"},
                      {"gateway", "backend", "\"carrier-pigeon\""},
                      {"gateway", "log_level", "\"loud\""},
                      {"gateway", "bogus_key", "1"},
                      {"control", "sync_period_ms", "0"},
                      {"control", "sync_period_ms", "-5"},
                      {"control", "sync_period_ms", "99999999999"},
                      {"control", "sync_period_ms", "1.5"},
                      {"control", "key", "\"00\""},
                      {"control", "bind", "\"nowhere\""},
                      {"egress", "store_units", "0"},
                      {"egress", "store_units", "-3"},
                      {"egress", "max_payload", "0"},
                      {"egress", "max_payload", "70000"},
                      {"receiver", "unit_deadline_ms", "0"},
                      {"receiver", "unit_deadline_ms", "-1"},
                      {"socket", "buffer_bytes", "-1"},
                      {"port", "port", "70000"},
                      {"port", "port", "-1"},
                      {"port", "capacity_gbps", "0.0"},
                      {"port", "capacity_gbps", "-1.0"},
                      {"port", "capacity_gbps", "nan"},
                      {"port", "capacity_gbps", "inf"},
                      {"port", "capacity_gbps", "1e300"},
                      {"port", "memory_budget_mb", "0"},
                      {"port", "memory_budget_mb", "-1"},
                      {"port", "memory_budget_mb", "99999999999"},
                  });
}

TEST_F(ConfigTest, ControllerRefusesZeroNegativeAbsurdAndUnknownValues) {
  expect_rejected(binary("AIGW_CONTROLLER"), kController,
                  {
                      {"", "sync_period_ms", "0"},
                      {"", "sync_period_ms", "-100"},
                      {"", "sync_period_ms", "99999999999"},
                      {"", "dead_after_periods", "0"},
                      {"", "listen", "\"127.0.0.1:99999\""},
                      {"", "bogus_key", "true"},
                  });
}

TEST_F(ConfigTest, ControllerRefusesDuplicateKeyIds) {
  const std::string exe = binary("AIGW_CONTROLLER");
  const auto r = check(exe, kController + "\n[[keys]]\nid = 1\nhex = \"" + std::string(64, 'f') + "\"\n");
  EXPECT_EQ(r.exit_code, kExitConfig) << r.output;
  EXPECT_NE(r.output.find("keys"), std::string::npos) << r.output;
}

TEST_F(ConfigTest, GpuServerRefusesZeroNegativeAbsurdAndUnknownValues) {
  expect_rejected(binary("AIGW_GPU_EMU"), kGpu,
                  {
                      {"gpu", "id", "-1"},
                      {"gpu", "capacity_units_per_s", "0"},
                      {"gpu", "capacity_units_per_s", "-5"},
                      {"gpu", "capacity_units_per_s", "nan"},
                      {"gpu", "capacity_units_per_s", "inf"},
                      {"gpu", "period_ms", "0"},
                      {"gpu", "period_ms", "-1"},
                      {"gpu", "models", "[]"},
                      {"gpu", "bogus_key", "1"},
                      {"receiver", "unit_deadline_ms", "0"},
                  });
}

}  // namespace
}  // namespace aigw::hostile
