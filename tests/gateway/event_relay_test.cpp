#include "gateway/core/event_relay.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <tuple>
#include <vector>

namespace aigw {
namespace {

/// Records what reaches the agent's side.
struct Recorder : PipelineEvents {
  struct Nack {
    Ipv4Endpoint to;
    uint32_t stream, seq, round;
    uint16_t count, first, missing;
    NackEncoding encoding;
    std::vector<uint8_t> bytes;
  };
  std::vector<Nack> nacks;
  std::vector<std::tuple<uint32_t, uint32_t, bool, uint32_t, LossReason>> done;
  std::vector<std::pair<uint32_t, uint32_t>> released;
  std::vector<StreamCommand> gpu;

  void send_nack(const Ipv4Endpoint& to, const NackOut& n) override {
    nacks.push_back({to, n.stream_id, n.unit_seq, n.round, n.fragment_count, n.chunk.first_fragment,
                     n.chunk.missing_count, n.chunk.encoding,
                     std::vector<uint8_t>(n.chunk.bytes, n.chunk.bytes + n.chunk.size)});
  }
  void unit_done(uint32_t s, uint32_t q, bool d, uint32_t b, LossReason r) override { done.emplace_back(s, q, d, b, r); }
  void stream_released(uint32_t s, uint32_t q) override { released.emplace_back(s, q); }
  bool foreign_gpu_command(const StreamCommand& c) override {
    gpu.push_back(c);
    return true;
  }
};

TEST(EventRelay, EveryKindArrivesIntactAndInOrder) {
  EventRelay relay(16);
  const uint8_t bitmap[] = {0xa5, 0x0f, 0x80};
  NackOut n{7, 42, 945, 2, NackChunk{NackEncoding::bitmap, 64, 9, bitmap, sizeof bitmap}};
  relay.send_nack(Ipv4Endpoint{0x7f000001, 9001}, n);
  relay.unit_done(7, 41, false, 0, LossReason::memory_budget);
  relay.stream_released(7, 43);
  StreamCommand ack;
  ack.kind = StreamCommand::Kind::gpu_ack;
  ack.route.stream_id = 8;
  ack.unit_seq = 5;
  EXPECT_TRUE(relay.foreign_gpu_command(ack));
  StreamCommand gpu_nack;
  gpu_nack.kind = StreamCommand::Kind::gpu_nack;
  gpu_nack.route.stream_id = 9;
  gpu_nack.unit_seq = 6;
  gpu_nack.fragment_count = 945;
  gpu_nack.encoding = NackEncoding::ranges;
  gpu_nack.missing_count = 3;
  gpu_nack.nack_size = 4;
  const uint8_t ranges[] = {0, 10, 0, 3};
  std::copy(ranges, ranges + 4, gpu_nack.nack);
  EXPECT_TRUE(relay.foreign_gpu_command(gpu_nack));
  EXPECT_TRUE(relay.take_pushed());
  EXPECT_FALSE(relay.take_pushed());  // once per batch

  Recorder r;
  EXPECT_TRUE(relay.drain(r, 2));  // bounded per call: three left
  EXPECT_FALSE(relay.drain(r, 100));
  ASSERT_EQ(r.nacks.size(), 1u);
  EXPECT_EQ(r.nacks[0].to, (Ipv4Endpoint{0x7f000001, 9001}));
  EXPECT_EQ(r.nacks[0].stream, 7u);
  EXPECT_EQ(r.nacks[0].seq, 42u);
  EXPECT_EQ(r.nacks[0].round, 2u);
  EXPECT_EQ(r.nacks[0].count, 945);
  EXPECT_EQ(r.nacks[0].first, 64);
  EXPECT_EQ(r.nacks[0].missing, 9);
  EXPECT_EQ(r.nacks[0].encoding, NackEncoding::bitmap);
  EXPECT_EQ(r.nacks[0].bytes, std::vector<uint8_t>(bitmap, bitmap + 3));
  ASSERT_EQ(r.done.size(), 1u);
  EXPECT_EQ(r.done[0], std::make_tuple(7u, 41u, false, 0u, LossReason::memory_budget));
  ASSERT_EQ(r.released.size(), 1u);
  EXPECT_EQ(r.released[0], std::make_pair(7u, 43u));
  ASSERT_EQ(r.gpu.size(), 2u);
  EXPECT_EQ(r.gpu[0].kind, StreamCommand::Kind::gpu_ack);
  EXPECT_EQ(r.gpu[0].route.stream_id, 8u);
  EXPECT_EQ(r.gpu[0].unit_seq, 5u);
  EXPECT_EQ(r.gpu[1].kind, StreamCommand::Kind::gpu_nack);
  EXPECT_EQ(r.gpu[1].route.stream_id, 9u);
  EXPECT_EQ(r.gpu[1].fragment_count, 945u);
  EXPECT_EQ(r.gpu[1].encoding, NackEncoding::ranges);
  EXPECT_EQ(r.gpu[1].missing_count, 3u);
  ASSERT_EQ(r.gpu[1].nack_size, 4);
  EXPECT_TRUE(std::equal(ranges, ranges + 4, r.gpu[1].nack));
  EXPECT_EQ(relay.dropped(), 0u);
}

TEST(EventRelay, AFullRingCountsWhatItDrops) {
  EventRelay relay(4);  // rounded to a power of two; one slot stays free or not, either way bounded
  for (uint32_t i = 0; i < 20; ++i) relay.stream_released(i, i);
  Recorder r;
  relay.drain(r, 100);
  EXPECT_EQ(r.released.size() + relay.dropped(), 20u);
  EXPECT_GT(relay.dropped(), 0u);
  for (size_t i = 0; i < r.released.size(); ++i) EXPECT_EQ(r.released[i].first, i);  // the oldest kept
}

TEST(EventRelay, ProducerAndConsumerOnTwoThreadsLoseNothingWhenDrainedInTime) {
  EventRelay relay(1024);
  Recorder r;
  constexpr uint32_t kEvents = 20000;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::thread producer([&] {
    for (uint32_t i = 0; i < kEvents && std::chrono::steady_clock::now() < deadline;) {
      const uint64_t before = relay.dropped();
      relay.unit_done(1, i, true, i, LossReason::deadline);
      if (relay.dropped() == before) ++i;  // full: try the same event again
      else std::this_thread::yield();
    }
  });
  while (r.done.size() < kEvents && std::chrono::steady_clock::now() < deadline) relay.drain(r, 64);
  producer.join();
  ASSERT_EQ(r.done.size(), kEvents);
  for (uint32_t i = 0; i < kEvents; ++i) ASSERT_EQ(std::get<1>(r.done[i]), i);
}

}  // namespace
}  // namespace aigw
