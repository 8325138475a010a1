#include "gateway/net/arp_table.h"

#include <gtest/gtest.h>

namespace aigw {
namespace {

constexpr int64_t kMs = 1'000'000;
const net::Mac kGpuMac{0x02, 0, 0, 0, 0, 0x10};
const net::Mac kForgedMac{0x02, 0, 0, 0, 0, 0x66};
constexpr uint32_t kGpuHop = 0x0A000001;  // 10.0.0.1

TEST(ArpTable, OnlyAnswersToItsOwnRequestsAreLearned) {
  ArpTable t;
  EXPECT_FALSE(t.learn_solicited(kGpuHop, kForgedMac, 0)) << "not asked for";
  EXPECT_EQ(t.lookup(kGpuHop, 0), nullptr);
  ASSERT_TRUE(t.should_request(kGpuHop, 10 * kMs));
  EXPECT_TRUE(t.learn_solicited(kGpuHop, kGpuMac, 11 * kMs));
  ASSERT_NE(t.lookup(kGpuHop, 12 * kMs), nullptr);
  EXPECT_EQ(*t.lookup(kGpuHop, 12 * kMs), kGpuMac);
  // A second reply to the same request, as a spoofer racing the real one would send.
  EXPECT_FALSE(t.learn_solicited(kGpuHop, kForgedMac, 12 * kMs));
  EXPECT_EQ(*t.lookup(kGpuHop, 13 * kMs), kGpuMac);
}

TEST(ArpTable, AnAnnouncementFillsAFreeSlotButNeverRedirectsOrEvictsALiveEntry) {
  ArpTable t(8);
  EXPECT_TRUE(t.learn_announced(kGpuHop, kGpuMac, 0));  // the GPU server announces itself
  EXPECT_FALSE(t.learn_announced(kGpuHop, kForgedMac, kMs)) << "a forged announcement";
  EXPECT_EQ(*t.lookup(kGpuHop, 2 * kMs), kGpuMac);
  int learned = 0;
  for (uint32_t ip = 1; ip <= 1000; ++ip) learned += t.learn_announced(0x0B000000 + ip, kForgedMac, 3 * kMs);
  EXPECT_EQ(learned, 7) << "only the free slots";
  EXPECT_EQ(*t.lookup(kGpuHop, 4 * kMs), kGpuMac);
}

TEST(ArpTable, AReplyLongAfterTheRequestIsUnsolicited) {
  ArpTable t;
  ASSERT_TRUE(t.should_request(kGpuHop, 0));
  EXPECT_FALSE(t.learn_solicited(kGpuHop, kGpuMac, t.solicit_window_ns + 1));
  EXPECT_EQ(t.lookup(kGpuHop, t.solicit_window_ns + 1), nullptr);
}

TEST(ArpTable, ASweepOfForgedSendersCannotEvictTheNextHop) {
  ArpTable t(8);
  ASSERT_TRUE(t.should_request(kGpuHop, 0));
  ASSERT_TRUE(t.learn_solicited(kGpuHop, kGpuMac, kMs));
  for (uint32_t ip = 1; ip <= 1000; ++ip) EXPECT_FALSE(t.learn_solicited(0x0B000000 + ip, kForgedMac, 2 * kMs));
  ASSERT_NE(t.lookup(kGpuHop, 3 * kMs), nullptr);
  EXPECT_EQ(*t.lookup(kGpuHop, 3 * kMs), kGpuMac);
}

TEST(ArpTable, RequestsAreSpacedAndEntriesExpire) {
  ArpTable t;
  EXPECT_TRUE(t.should_request(kGpuHop, 0));
  EXPECT_FALSE(t.should_request(kGpuHop, t.request_interval_ns - 1));
  EXPECT_TRUE(t.should_request(kGpuHop, t.request_interval_ns));
  ASSERT_TRUE(t.learn_solicited(kGpuHop, kGpuMac, t.request_interval_ns));
  EXPECT_EQ(t.lookup(kGpuHop, t.request_interval_ns + t.max_age_ns + 1), nullptr);
}

}  // namespace
}  // namespace aigw
