// Paging of the stream listing: its parameters, the per-gateway stream index, and
// Controller::streams_json walked page by page over a table built from StreamSyncs.
#include "controller/core/stream_page.h"

#include <gtest/gtest.h>

#include <random>

#include "control_peer.h"
#include "controller/core/controller.h"

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

using namespace testing;
using Json = nlohmann::json;

/// Follows `next` from `q.after`; every page must hold at most `limit` streams.
std::vector<uint32_t> walk_pages(const Controller& c, StreamPageQuery q, size_t& pages) {
  std::vector<uint32_t> ids;
  pages = 0;
  for (;;) {
    const Json page = c.streams_json(q);
    ++pages;
    EXPECT_LE(page["streams"].size(), q.limit);
    for (const auto& row : page["streams"]) ids.push_back(row["id"]);
    if (page["next"].is_null()) return ids;
    EXPECT_EQ(page["next"], ids.back()) << "the cursor is the page's last id";
    q.after = page["next"];
    if (pages > 1000) return ids;  // a cursor that does not advance
  }
}

/// A controller whose table holds 95 scattered stream ids on gateways 1..3, adopted
/// from their StreamSyncs; `on[g]` lists gateway g's ids in order.
struct Listing : ::testing::Test {
  CapturingTransport net;
  std::unique_ptr<Controller> ctl = std::make_unique<Controller>(test_config(), net, 0, 1);
  std::set<uint32_t> all;
  std::map<uint32_t, std::vector<uint32_t>> on;

  void SetUp() override {
    std::mt19937 rng(20261123);
    while (all.size() < 95) all.insert(1 + rng() % 100000);
    uint32_t i = 0;
    for (uint32_t id : all) on[1 + i++ % 3].push_back(id);
    for (auto& [gw, ids] : on) {
      Peer p(NodeRole::gateway, gw);
      const UdpEndpoint from = loopback(uint16_t(6000 + gw));
      auto d = p.seal(MessageType::load_sync, load_sync(gw, 1, from.port(), 9000 + gw));
      ctl->on_datagram(d.data(), d.size(), from, 0);
      ctl::StreamSync ss;
      ss.set_gateway_id(gw);
      ss.set_period_seq(1);
      for (uint32_t id : ids) {
        ctl::StreamEntry* e = ss.add_streams();
        e->set_stream_id(id);
        e->set_data_port(9000 + gw);
      }
      d = p.seal(MessageType::stream_sync, ss);
      ctl->on_datagram(d.data(), d.size(), from, 0);
    }
  }
};

TEST_F(Listing, PagesWalkEveryStreamOnceInIdOrder) {
  ASSERT_EQ(ctl->streams().size(), all.size());
  size_t pages = 0;
  const std::vector<uint32_t> want(all.begin(), all.end());
  StreamPageQuery q;
  q.limit = 10;
  EXPECT_EQ(walk_pages(*ctl, q, pages), want);
  EXPECT_EQ(pages, 10u);
  q.limit = 95;  // exactly one full page: no next
  EXPECT_EQ(walk_pages(*ctl, q, pages), want);
  EXPECT_EQ(pages, 1u);
  const Json first = ctl->streams_json({});  // defaults: 1000 from the start
  EXPECT_EQ(first["streams"].size(), 95u);
  EXPECT_TRUE(first["next"].is_null());
  EXPECT_EQ(first["total"], 95);

  // A cursor between ids, and past the end.
  q.limit = 3;
  q.after = want[40] - 1;
  Json page = ctl->streams_json(q);
  ASSERT_EQ(page["streams"].size(), 3u);
  EXPECT_EQ(page["streams"][0]["id"], want[40]);
  EXPECT_EQ(page["next"], want[42]);
  q.after = UINT32_MAX;
  page = ctl->streams_json(q);
  EXPECT_TRUE(page["streams"].empty());
  EXPECT_TRUE(page["next"].is_null());
  EXPECT_EQ(page["total"], 95);
}

TEST_F(Listing, GatewayFilterListsOnlyThatGatewaysStreams) {
  size_t pages = 0;
  for (const auto& [gw, ids] : on) {
    StreamPageQuery f;
    f.limit = 4;
    f.gateway = gw;
    EXPECT_EQ(walk_pages(*ctl, f, pages), ids) << "gateway " << gw;
    EXPECT_EQ(pages, (ids.size() + 3) / 4);
    EXPECT_EQ(ctl->streams_json(f)["total"], ids.size());
  }
  StreamPageQuery none;
  none.gateway = 77;
  EXPECT_TRUE(ctl->streams_json(none)["streams"].empty());
  EXPECT_EQ(ctl->streams_json(none)["total"], 0);
}

}  // namespace
}  // namespace aigw::controller
