#include "sim/live/prom_text.h"

#include <gtest/gtest.h>

namespace aigw::sim {
namespace {

constexpr const char* kText =
    "# HELP aigw_gateway_port_fragments_total Fragments handed to the reassembler, by verdict\n"
    "# TYPE aigw_gateway_port_fragments_total counter\n"
    "aigw_gateway_port_fragments_total{port=\"7001\",reason=\"accepted\"} 1200\n"
    "aigw_gateway_port_fragments_total{port=\"7002\",reason=\"accepted\"} 800\n"
    "aigw_gateway_port_fragments_total{port=\"7001\",reason=\"duplicate\"} 3\n"
    "aigw_gateway_port_memory_bytes{port=\"7001\"} 1.5e6\n"
    "aigw_controller_admissions_total 42\n"
    "weird{label=\"with \\\"quote\\\", comma\"} 7\n"
    "broken{port=\"1\" 5\n"
    "novalue{a=\"b\"}\n";

TEST(PromText, ParsesSamplesLabelsAndEscapes) {
  size_t skipped = 0;
  const auto s = parse_prom_text(kText, &skipped);
  EXPECT_EQ(skipped, 2u);
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s[0].labels.at("port"), "7001");
  EXPECT_DOUBLE_EQ(s[3].value, 1.5e6);
  EXPECT_TRUE(s[4].labels.empty());
  EXPECT_EQ(s[5].labels.at("label"), "with \"quote\", comma");
}

TEST(PromText, SumsAcrossLabelsWithAFilter) {
  const auto s = parse_prom_text(kText);
  EXPECT_DOUBLE_EQ(prom_sum(s, "aigw_gateway_port_fragments_total"), 2003);
  EXPECT_DOUBLE_EQ(prom_sum(s, "aigw_gateway_port_fragments_total", {{"reason", "accepted"}}), 2000);
  EXPECT_DOUBLE_EQ(prom_sum(s, "aigw_gateway_port_fragments_total", {{"reason", "accepted"}, {"port", "7002"}}), 800);
  EXPECT_DOUBLE_EQ(prom_sum(s, "absent"), 0);
}

}  // namespace
}  // namespace aigw::sim
