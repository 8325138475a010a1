// Statistics JSON: valid JSON with every field of aigw_stream_stats.
#include "edge-sdk/src/stats_json.h"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

namespace aigw::edge {
namespace {

TEST(StatsJson, CarriesEveryField) {
  aigw_stream_stats s{};
  s.size = sizeof s;
  s.stream_id = 7;
  s.units_sent = 10;
  s.fragments_sent = 9450;
  s.fragments_resent = 12;
  s.bytes_sent = 7000000;
  s.nacks_received = 3;
  s.nacks_unanswerable = 1;
  s.units_expired = 6;
  s.units_evicted = 2;
  s.migrations = 1;
  s.next_unit_seq = 10;
  s.gateway_id = 4;
  std::strcpy(s.gateway_address, "10.1.2.3");
  s.gateway_port = 9000;
  const auto j = nlohmann::json::parse(stats_to_json(s));
  EXPECT_EQ(j["stream_id"], 7);
  EXPECT_EQ(j["units_sent"], 10);
  EXPECT_EQ(j["fragments_sent"], 9450);
  EXPECT_EQ(j["fragments_resent"], 12);
  EXPECT_EQ(j["bytes_sent"], 7000000);
  EXPECT_EQ(j["nacks_received"], 3);
  EXPECT_EQ(j["nacks_unanswerable"], 1);
  EXPECT_EQ(j["units_expired"], 6);
  EXPECT_EQ(j["units_evicted"], 2);
  EXPECT_EQ(j["migrations"], 1);
  EXPECT_EQ(j["next_unit_seq"], 10);
  EXPECT_EQ(j["gateway"]["id"], 4);
  EXPECT_EQ(j["gateway"]["address"], "10.1.2.3");
  EXPECT_EQ(j["gateway"]["port"], 9000);
}

TEST(StatsJson, EscapesStrings) {
  aigw_stream_stats s{};
  std::strcpy(s.gateway_address, "a\"b\\c\n");
  const auto j = nlohmann::json::parse(stats_to_json(s));
  EXPECT_EQ(j["gateway"]["address"], "a\"b\\c\n");
}

}  // namespace
}  // namespace aigw::edge
