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

TEST(Demo, EveryUnitIsVerifiedOrLostWithAReasonAndReportsAreWellFormed) {
  const std::string out = ::testing::TempDir() + "aigw_demo_test";
  std::filesystem::remove_all(out);
  const std::string cmd = std::string(AIGW_BUILD_DIR "/sim/aigw-sim run ") + AIGW_SOURCE_DIR +
                          "/tests/sim/demo-short.toml --out " + out + " > " + out + ".stdout 2> " + out + ".stderr";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << slurp(out + ".stderr") << slurp(out + ".stdout");

  const auto j = nlohmann::json::parse(slurp(out + "/summary.json"));
  const auto& u = j["units"];
  const uint64_t sent = u["sent"], delivered = u["delivered"], lost = u["lost"], corrupt = u["corrupt"],
                 in_flight = u["in_flight"];
  EXPECT_EQ(j["streams"]["requested"], 60);
  EXPECT_GT(j["streams"]["admitted"].get<uint64_t>(), 50u);
  EXPECT_GT(sent, 150u);
  // Delivery: nothing unaccounted for, and every loss names its reason.
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

}  // namespace
