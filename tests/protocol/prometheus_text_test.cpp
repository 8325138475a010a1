#include "protocol/prometheus_text.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace aigw {
namespace {

TEST(PromText, FamilyHeaderOnceThenSamples) {
  std::string out;
  PromText w(out);
  w.family("aigw_x_total", PromType::counter, "Things, by kind");
  w.sample({{"kind", "a"}}, uint64_t{1});
  w.sample({{"kind", "b"}}, uint64_t{2});
  w.family("aigw_y", PromType::gauge, "A level");
  w.sample(0.5);
  EXPECT_EQ(out,
            "# HELP aigw_x_total Things, by kind\n"
            "# TYPE aigw_x_total counter\n"
            "aigw_x_total{kind=\"a\"} 1\n"
            "aigw_x_total{kind=\"b\"} 2\n"
            "# HELP aigw_y A level\n"
            "# TYPE aigw_y gauge\n"
            "aigw_y 0.5\n");
}

TEST(PromText, SeveralLabelsInOrderWithNumbers) {
  std::string out;
  PromText w(out);
  w.family("m", PromType::counter, "h");
  const uint16_t port = 7001;
  const std::string reason = "accepted";
  w.sample({{"port", port}, {"reason", reason}, {"pipeline", size_t{3}}}, 12u);
  EXPECT_EQ(out, "# HELP m h\n# TYPE m counter\nm{port=\"7001\",reason=\"accepted\",pipeline=\"3\"} 12\n");
}

TEST(PromText, EscapesLabelValues) {
  std::string out;
  PromText w(out);
  w.family("m", PromType::gauge, "h");
  w.sample({{"v", "back\\slash \"quoted\"\nnext"}}, 1u);
  EXPECT_EQ(out, "# HELP m h\n# TYPE m gauge\nm{v=\"back\\\\slash \\\"quoted\\\"\\nnext\"} 1\n");
}

TEST(PromText, EscapesHelpButNotItsQuotes) {
  std::string out;
  PromText w(out);
  w.family("m", PromType::gauge, "a \\ b \"c\"\nd");
  EXPECT_EQ(out, "# HELP m a \\\\ b \"c\"\\nd\n# TYPE m gauge\n");
}

TEST(PromText, FormatsIntegersExactly) {
  std::string out;
  PromText w(out);
  w.family("m", PromType::counter, "h");
  w.sample(std::numeric_limits<uint64_t>::max());
  w.sample(uint32_t{0});
  w.sample(true);
  w.sample(int64_t{-1});
  EXPECT_EQ(out, "# HELP m h\n# TYPE m counter\nm 18446744073709551615\nm 0\nm 1\nm -1\n");
}

TEST(PromText, FormatsDoublesShortestAndSpecialValues) {
  std::string out;
  PromText w(out);
  w.family("m", PromType::gauge, "h");
  w.sample(1.0);
  w.sample(1.5e6);
  w.sample(0.1);
  w.sample(-0.25);
  w.sample(std::numeric_limits<double>::infinity());
  w.sample(-std::numeric_limits<double>::infinity());
  w.sample(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(out, "# HELP m h\n# TYPE m gauge\nm 1\nm 1500000\nm 0.1\nm -0.25\nm +Inf\nm -Inf\nm NaN\n");
}

TEST(PromText, MetricWritesAFamilyOfOneSample) {
  std::string out;
  PromText w(out);
  w.metric("aigw_up_seconds", PromType::gauge, "Uptime", 2.5);
  w.metric("aigw_errors_total", PromType::counter, "Errors", uint64_t{7});
  EXPECT_EQ(out,
            "# HELP aigw_up_seconds Uptime\n# TYPE aigw_up_seconds gauge\naigw_up_seconds 2.5\n"
            "# HELP aigw_errors_total Errors\n# TYPE aigw_errors_total counter\naigw_errors_total 7\n");
}

TEST(PromText, AppendsToWhatIsThere) {
  std::string out = "x\n";
  PromText w(out);
  w.metric("m", PromType::counter, "h", 1u);
  EXPECT_EQ(out, "x\n# HELP m h\n# TYPE m counter\nm 1\n");
}

}  // namespace
}  // namespace aigw
