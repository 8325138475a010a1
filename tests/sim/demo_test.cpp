// The demo in a shortened form: aigw-sim runs the real controller, 4 gateways, 2 GPU
// emulators and 60 edge-SDK streams on loopback. Asserts that every unit sent was
// verified end to end or reported lost with a reason, that the report files are
// well-formed, and that no process of the run is left behind.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <dirent.h>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/sim/xml_wellformed.h"

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Processes whose command line mentions `needle` (the run's own directory).
int processes_mentioning(const std::string& needle) {
  int n = 0;
  DIR* d = opendir("/proc");
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string cmd = slurp(std::string("/proc/") + e->d_name + "/cmdline");
    for (char& c : cmd)
      if (c == '\0') c = ' ';
    if (cmd.find(needle) != std::string::npos && cmd.find("demo_test") == std::string::npos) ++n;
  }
  closedir(d);
  return n;
}

// Runs `aigw-sim run <scenario> --out <out>`; the summary, or a failure with the output.
::testing::AssertionResult run_sim(const std::string& scenario, const std::string& out, nlohmann::json& summary) {
  std::filesystem::remove_all(out);
  const std::string cmd = std::string(AIGW_BUILD_DIR "/sim/aigw-sim run ") + AIGW_SOURCE_DIR + "/tests/sim/" +
                          scenario + " --out " + out + " > " + out + ".stdout 2> " + out + ".stderr";
  const int status = std::system(cmd.c_str());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return ::testing::AssertionFailure() << "status " << status << "\n" << slurp(out + ".stderr") << slurp(out + ".stdout");
  summary = nlohmann::json::parse(slurp(out + "/summary.json"));
  return ::testing::AssertionSuccess();
}

// Every unit sent was verified end to end or reported lost with a reason.
void expect_every_unit_accounted(const nlohmann::json& j) {
  const auto& u = j["units"];
  const uint64_t sent = u["sent"], delivered = u["delivered"], lost = u["lost"], corrupt = u["corrupt"],
                 in_flight = u["in_flight"];
  EXPECT_EQ(in_flight, 0u);
  EXPECT_EQ(delivered + lost + corrupt, sent);
  uint64_t by_reason = 0;
  for (const auto& [reason, n] : u["lost_by_reason"].items()) {
    EXPECT_FALSE(reason.empty());
    if (reason.rfind("admission:", 0) != 0) by_reason += n.get<uint64_t>();
  }
  EXPECT_EQ(by_reason, lost);
  EXPECT_EQ(corrupt, 0u);
  EXPECT_GT(double(delivered) / double(sent), 0.95);
}

TEST(Demo, EveryUnitIsVerifiedOrLostWithAReasonAndReportsAreWellFormed) {
  const std::string out = ::testing::TempDir() + "aigw_demo_test";
  nlohmann::json j;
  ASSERT_TRUE(run_sim("demo-short.toml", out, j));
  EXPECT_EQ(j["streams"]["requested"], 60);
  EXPECT_GT(j["streams"]["admitted"].get<uint64_t>(), 50u);
  EXPECT_GT(j["units"]["sent"].get<uint64_t>(), 150u);
  expect_every_unit_accounted(j);
  EXPECT_EQ(j["gateways"].size(), 4u);
  EXPECT_EQ(j["admission_latency"][0]["count"], j["streams"]["admitted"]);

  for (const char* svg : {"load.svg", "lsd.svg", "dpr.svg", "admission.svg"})
    EXPECT_EQ(aigw::sim::test::xml_wellformed(slurp(out + "/" + svg)), "") << svg;
  for (const char* csv : {"gateways.csv", "cluster.csv"}) {
    std::istringstream in(slurp(out + "/" + csv));
    std::string header, line;
    std::getline(in, header);
    size_t rows = 0;
    while (std::getline(in, line)) {
      EXPECT_EQ(std::count(line.begin(), line.end(), ','), std::count(header.begin(), header.end(), ',')) << csv;
      ++rows;
    }
    EXPECT_GT(rows, 3u) << csv;
  }
  EXPECT_EQ(processes_mentioning(out + "/cluster"), 0) << "a process of the run was left behind";
}

// 2 % loss on the device -> gateway hop: the gateways NACK the missing fragments to
// the devices' control sockets, the devices resend them through the relays, and the
// source check still holds (nothing dropped as coming from the wrong source).
TEST(Demo, DeviceHopLossIsRecoveredByGatewayNacks) {
  const std::string out = ::testing::TempDir() + "aigw_lossy_test";
  nlohmann::json j;
  ASSERT_TRUE(run_sim("lossy-short.toml", out, j));
  EXPECT_EQ(j["streams"]["admitted"], 30);
  EXPECT_GT(j["units"]["sent"].get<uint64_t>(), 90u);
  expect_every_unit_accounted(j);
  EXPECT_EQ(j["extra"]["impairment"]["link"], "device -> gateway");
  // ~2 % of first transmissions are lost on the hop and resent on NACK.
  const double dpr = j["dpr"];
  EXPECT_GT(dpr, 0.005);
  EXPECT_LT(dpr, 0.06);
  const auto& g = j["extra"]["gateway_receive"];
  const uint64_t retransmitted = j["fragments"]["retransmitted"];
  EXPECT_GT(retransmitted, 0u);
  EXPECT_GT(g["nacks_sent"].get<uint64_t>(), 0u);
  EXPECT_GE(g["nacked_fragments"].get<uint64_t>(), retransmitted);  // devices resend what was NACKed
  EXPECT_GT(g["retransmissions_received"].get<uint64_t>(), retransmitted / 2);
  EXPECT_LE(g["retransmissions_received"].get<uint64_t>(), retransmitted);
  EXPECT_EQ(g["dropped_wrong_source"], 0);
  for (const auto& gw : j["gateways"]) EXPECT_GT(gw["dpr"].get<double>(), 0) << gw.dump();
  EXPECT_EQ(processes_mentioning(out + "/cluster"), 0) << "a process of the run was left behind";
}

}  // namespace
