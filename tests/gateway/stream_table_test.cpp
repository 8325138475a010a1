#include "gateway/core/stream_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace aigw {
namespace {

StreamRoute route(uint32_t id) {
  StreamRoute r;
  r.stream_id = id;
  r.data_port = static_cast<uint16_t>(9000 + id % 3);
  r.source = {0x7f000001, 0};
  return r;
}

TEST(StreamTable, InsertFindUpdateErase) {
  StreamTable t(8);
  EXPECT_EQ(t.find(1), nullptr);
  ASSERT_TRUE(t.upsert(route(1)));
  ASSERT_NE(t.find(1), nullptr);
  auto r = route(1);
  r.gpu_id = 5;
  ASSERT_TRUE(t.upsert(r));
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.find(1)->gpu_id, 5u);
  EXPECT_TRUE(t.erase(1));
  EXPECT_FALSE(t.erase(1));
  EXPECT_EQ(t.find(1), nullptr);
}

TEST(StreamTable, RefusesBeyondCapacity) {
  StreamTable t(4);
  for (uint32_t i = 1; i <= 4; ++i) EXPECT_TRUE(t.upsert(route(i)));
  EXPECT_FALSE(t.upsert(route(5)));
  EXPECT_TRUE(t.upsert(route(3)));  // updates still work when full
  EXPECT_EQ(t.size(), 4u);
}

TEST(StreamTable, RandomOperationsMatchAMap) {
  StreamTable t(500);
  std::map<uint32_t, uint32_t> model;
  std::mt19937 rng(11);
  for (int op = 0; op < 20000; ++op) {
    uint32_t id = rng() % 700 + 1;
    if (rng() % 3 == 0) {
      EXPECT_EQ(t.erase(id), model.erase(id) == 1);
    } else {
      auto r = route(id);
      r.gpu_id = static_cast<uint32_t>(op);
      bool ok = t.upsert(r);
      if (model.count(id) || model.size() < 500) {
        EXPECT_TRUE(ok);
        model[id] = r.gpu_id;
      } else {
        EXPECT_FALSE(ok);
      }
    }
    ASSERT_EQ(t.size(), model.size());
  }
  for (uint32_t id = 1; id <= 700; ++id) {
    const StreamRoute* r = t.find(id);
    auto it = model.find(id);
    ASSERT_EQ(r != nullptr, it != model.end()) << id;
    if (r) {
      EXPECT_EQ(r->gpu_id, it->second);
    }
  }
}

TEST(StreamRoute, SourceMatching) {
  StreamRoute r = route(1);
  EXPECT_TRUE(r.source_matches({0x7f000001, 1234}));
  EXPECT_FALSE(r.source_matches({0x7f000002, 1234}));
  r.source.port = 1234;
  EXPECT_TRUE(r.source_matches({0x7f000001, 1234}));
  EXPECT_FALSE(r.source_matches({0x7f000001, 1235}));
}

TEST(SeqAfter, WrapsAround) {
  EXPECT_TRUE(seq_after(1, 0));
  EXPECT_FALSE(seq_after(0, 0));
  EXPECT_TRUE(seq_after(2, 0xfffffffe));
  EXPECT_FALSE(seq_after(0xfffffffe, 2));
}

}  // namespace
}  // namespace aigw
