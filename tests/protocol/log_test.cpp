#include "protocol/log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace aigw::log {
namespace {

std::string capture(void (*body)()) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  set_sink(f);
  body();
  set_sink(nullptr);
  std::fclose(f);
  std::string s(buf, len);
  std::free(buf);
  return s;
}

TEST(Log, FixedKeysLeadEveryLine) {
  set_component("gateway");
  set_level(Level::info);
  auto out = capture([] { info("unit_lost", "stream={} seq={}", 5, 9); });
  EXPECT_EQ(out.rfind("ts=", 0), 0u);
  EXPECT_NE(out.find(" level=info comp=gateway event=unit_lost stream=5 seq=9\n"), std::string::npos);
}

TEST(Log, LevelFilters) {
  set_level(Level::warn);
  auto out = capture([] { info("hidden", "x={}", 1); });
  EXPECT_TRUE(out.empty());
  set_level(Level::info);
}

TEST(Log, ParseLevel) {
  Level l;
  EXPECT_TRUE(parse_level("debug", l));
  EXPECT_EQ(l, Level::debug);
  EXPECT_FALSE(parse_level("loud", l));
}

TEST(Log, RateLimitCountsWhatItHolds) {
  RateLimit rl(std::chrono::milliseconds(100));
  uint64_t suppressed = 99;
  EXPECT_TRUE(rl.allow(1'000'000'000, suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_FALSE(rl.allow(1'050'000'000, suppressed));
  EXPECT_FALSE(rl.allow(1'060'000'000, suppressed));
  EXPECT_TRUE(rl.allow(1'100'000'000, suppressed));
  EXPECT_EQ(suppressed, 2u);
}

}  // namespace
}  // namespace aigw::log
