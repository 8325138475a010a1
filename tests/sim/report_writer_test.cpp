#include "sim/report/report_writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/sim/xml_wellformed.h"

namespace aigw::sim {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

RunReport sample_report() {
  RunReport r;
  r.scenario = "unit-test";
  r.mode = "discrete";
  r.scale = 0.02;
  r.duration_periods = 10;
  r.admission = "improved_adga";
  r.units_sent = 100;
  r.units_delivered = 95;
  r.units_recovered = 7;
  r.units_lost = 5;
  r.lost_by_reason["deadline"] = 5;
  r.fragments_expected = 1000;
  r.fragments_missing = 20;
  for (uint32_t t = 1; t <= 10; ++t) {
    for (uint32_t g = 1; g <= 3; ++g)
      r.gateway_series.push_back({double(t), g, g != 3 || t < 5, 0.1 * g, 0.1 * g, 0.1, 0.2, 0.3, 5 * g,
                                  100 * t, 2 * t});
    r.cluster_series.push_back({double(t), 0.05, 15, t / 3, 10 * t, t / 2});
  }
  for (uint32_t g = 1; g <= 3; ++g) r.gateways.push_back({g, 0.1 * g, 0.2 * g, 1000, 10 * g, 30, 1, 5, 6, g == 3});
  std::vector<double> lat = {1, 2, 3, 4, 5};
  r.admission_latency.push_back(latency_stats("lc", lat));
  return r;
}

TEST(ReportWriter, WritesEveryFileWellFormed) {
  const std::string dir = ::testing::TempDir() + "aigw_report_test";
  std::filesystem::remove_all(dir);
  const RunReport r = sample_report();
  ReportFiles files;
  ASSERT_EQ(write_report(r, dir, files), "");
  ASSERT_EQ(files.plots.size(), 4u);
  for (const auto& p : files.plots) EXPECT_EQ(test::xml_wellformed(slurp(p)), "") << p;

  const auto j = nlohmann::json::parse(slurp(files.summary_json));
  EXPECT_EQ(j["scenario"], "unit-test");
  EXPECT_DOUBLE_EQ(j["scale"].get<double>(), 0.02);
  EXPECT_EQ(j["units"]["delivered"], 95);
  EXPECT_EQ(j["units"]["lost_by_reason"]["deadline"], 5);
  EXPECT_DOUBLE_EQ(j["dpr"].get<double>(), 0.02);
  EXPECT_EQ(j["gateways"].size(), 3u);
  EXPECT_EQ(j["gateways"][2]["failed"], true);
  EXPECT_EQ(j["gateways"][2]["streams_peak"], 6);
  EXPECT_EQ(j["gateways"][2]["streams_final"], 5);
  EXPECT_DOUBLE_EQ(j["admission_latency"][0]["p50_ms"].get<double>(), 3);

  // CSV: a header plus one row per sample, every row with the header's column count.
  for (const auto& [path, rows] : {std::pair{files.gateways_csv, size_t{30}}, std::pair{files.cluster_csv, size_t{10}}}) {
    std::istringstream in(slurp(path));
    std::string line;
    std::getline(in, line);
    const auto cols = std::count(line.begin(), line.end(), ',');
    size_t n = 0;
    while (std::getline(in, line)) {
      EXPECT_EQ(std::count(line.begin(), line.end(), ','), cols) << line;
      ++n;
    }
    EXPECT_EQ(n, rows) << path;
  }
  // Dead gateway samples are left out of its load line.
  EXPECT_NE(slurp(files.gateways_csv).find("5.000,3,0,"), std::string::npos);
}

TEST(ReportWriter, ReportsAnUnwritableDirectory) {
  ReportFiles files;
  EXPECT_NE(write_report(sample_report(), "/proc/aigw-no-such-dir/x", files), "");
}

TEST(RunReport, LatencyPercentilesUseNearestRank) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);
  const LatencyStats s = latency_stats("adga", v);
  EXPECT_EQ(s.count, 100u);
  EXPECT_DOUBLE_EQ(s.mean_ms, 50.5);
  EXPECT_DOUBLE_EQ(s.p50_ms, 50);
  EXPECT_DOUBLE_EQ(s.p95_ms, 95);
  EXPECT_DOUBLE_EQ(s.p99_ms, 99);
  EXPECT_DOUBLE_EQ(s.max_ms, 100);
  std::vector<double> empty;
  EXPECT_EQ(latency_stats("x", empty).count, 0u);
}

TEST(RunReport, RatiosHandleZeroDenominators) {
  RunReport r;
  EXPECT_EQ(r.dpr(), 0);
  EXPECT_EQ(r.delivery_ratio(), 0);
  EXPECT_EQ(r.mean_lsd(), 0);
  r.units_delivered = 3;
  r.units_lost = 1;
  EXPECT_DOUBLE_EQ(r.delivery_ratio(), 0.75);
}

}  // namespace
}  // namespace aigw::sim
