// Paging parameters of the stream listing and the per-gateway stream index.
#include "controller/stream_page.h"

#include <gtest/gtest.h>

namespace aigw::controller {
namespace {

TEST(StreamPage, DefaultsAndValues) {
  StreamPageQuery q;
  std::string error;
  ASSERT_TRUE(parse_stream_page({}, q, error)) << error;
  EXPECT_EQ(q.limit, kDefaultStreamPageLimit);
  EXPECT_EQ(q.after, 0u);
  EXPECT_FALSE(q.gateway.has_value());
  ASSERT_TRUE(parse_stream_page({{"limit", "10000"}, {"after", "4294967295"}, {"gateway", "0"}}, q, error)) << error;
  EXPECT_EQ(q.limit, 10000u);
  EXPECT_EQ(q.after, UINT32_MAX);
  EXPECT_EQ(q.gateway, 0u);
}

TEST(StreamPage, BadParametersAreRejectedWithAReason) {
  const std::vector<std::map<std::string, std::string>> bad = {
      {{"limit", "0"}},      {{"limit", "10001"}},       {{"limit", "-1"}},   {{"limit", ""}},
      {{"limit", "1e3"}},    {{"limit", " 5"}},          {{"limit", "+5"}},   {{"after", "4294967296"}},
      {{"after", "abc"}},    {{"after", "12x"}},         {{"gateway", "0x1"}}, {{"offset", "5"}},
      {{"Limit", "5"}},      {{"limit", "5"}, {"x", "1"}},
  };
  for (const auto& params : bad) {
    StreamPageQuery q;
    q.limit = 7;
    std::string error;
    EXPECT_FALSE(parse_stream_page(params, q, error)) << params.begin()->first << "=" << params.begin()->second;
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(q.limit, 7u) << "left as it was";
  }
  std::string error;
  EXPECT_FALSE(check_stream_page_limit(0, error));
  EXPECT_FALSE(check_stream_page_limit(int64_t(kMaxStreamPageLimit) + 1, error));
  EXPECT_TRUE(check_stream_page_limit(1, error));
}

TEST(StreamsByGateway, KeepsIdsInOrderPerGateway) {
  StreamsByGateway idx;
  idx.add(2, 30);
  idx.add(2, 10);
  idx.add(5, 20);
  EXPECT_EQ(idx.on(2), (std::set<uint32_t>{10, 30}));
  idx.remove(2, 10);
  idx.remove(9, 10);  // unknown gateway: nothing happens
  EXPECT_EQ(idx.on(2), (std::set<uint32_t>{30}));
  idx.remove(5, 20);
  EXPECT_TRUE(idx.on(5).empty());
}

}  // namespace
}  // namespace aigw::controller
