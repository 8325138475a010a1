// The agent's per-period reports built from plain data: every field of LoadSync and
// StreamSync as the controller reads it, which port counters count as drops, and how a
// long stream list is cut into numbered parts that each fit one datagram.
#include "gateway/agent/sync_messages.h"

#include <gtest/gtest.h>

#include <vector>

namespace aigw {
namespace {

StreamReport stream(uint32_t id) {
  StreamReport s;
  s.route.stream_id = id;
  s.route.data_port = 9000;
  s.route.source = {0x0a000001, 40000};
  s.route.device_control = {0x0a000001, 40001};
  s.route.gpu = {0x0a000009, 7500};
  s.route.gpu_id = 3;
  s.route.device_id = 77;
  s.route.memory_bytes = 1.5e6;
  s.route.unit_bytes = 4000;
  s.last_unit_seq = 12;
  s.bandwidth_bps = 8e6;
  s.units_delivered = 10;
  s.units_lost = 2;
  return s;
}

TEST(LoadSync, CarriesTheNodeAndEveryPort) {
  LoadReport r;
  r.gateway_id = 4;
  r.period_seq = 9;
  r.period_ms = 1000;
  r.cpu_busy = 0.25;
  r.memory_capacity_bytes = 64e6;
  r.control = {0x7f000001, 7201};
  r.egress = {0x7f000002, 7300};
  PortLoadReport p;
  p.endpoint = {0x7f000003, 9000};
  p.bandwidth_bps = 1e9;
  p.bandwidth_capacity_bps = 10e9;
  p.memory_bytes = 2e6;
  p.memory_capacity_bytes = 32e6;
  p.cpu_busy = 0.5;
  p.streams = 6;
  p.fragments_received = 1000;
  p.fragments_dropped = 7;
  r.ports = {p, p};
  r.ports[1].endpoint.port = 9001;

  const ctl::LoadSync ls = build_load_sync(r);
  EXPECT_EQ(ls.gateway_id(), 4u);
  EXPECT_EQ(ls.period_seq(), 9u);
  EXPECT_EQ(ls.period_ms(), 1000u);
  EXPECT_EQ(ls.cpu_busy(), 0.25);
  EXPECT_EQ(ls.memory_capacity_bytes(), 64e6);
  EXPECT_EQ(ls.control_address(), "127.0.0.1");
  EXPECT_EQ(ls.control_port(), 7201u);
  EXPECT_EQ(ls.egress_address(), "127.0.0.2");
  EXPECT_EQ(ls.egress_port(), 7300u);
  ASSERT_EQ(ls.ports_size(), 2);
  const ctl::PortLoad& first = ls.ports(0);
  EXPECT_EQ(first.address(), "127.0.0.3");
  EXPECT_EQ(first.port(), 9000u);
  EXPECT_EQ(first.bandwidth_bps(), 1e9);
  EXPECT_EQ(first.bandwidth_capacity_bps(), 10e9);
  EXPECT_EQ(first.memory_bytes(), 2e6);
  EXPECT_EQ(first.memory_capacity_bytes(), 32e6);
  EXPECT_EQ(first.cpu_busy(), 0.5);
  EXPECT_EQ(first.stream_count(), 6u);
  EXPECT_EQ(first.fragments_received(), 1000u);
  EXPECT_EQ(first.fragments_dropped(), 7u);
  EXPECT_EQ(ls.ports(1).port(), 9001u);
}

TEST(LoadSync, APortReportsItsMeterAndCountsEveryKindOfDrop) {
  PublishedPortStats published;
  std::vector<uint64_t> counters(kPortStatCount, 0);
  const auto set = [&](PortStat s, uint64_t v) { counters[static_cast<size_t>(s)] = v; };
  set(PortStat::datagrams, 500);
  set(PortStat::streams, 3);
  set(PortStat::drop_truncated, 1);      // first of the drop_* counters
  set(PortStat::drop_bad_magic, 2);
  set(PortStat::drop_released, 4);       // last of them
  set(PortStat::fragments_no_memory, 8);
  set(PortStat::fragments_unit_too_large, 16);
  set(PortStat::fragments_inconsistent, 32);
  set(PortStat::fragments_out_of_window, 64);
  // Received, not dropped: a late or duplicate fragment was already had.
  set(PortStat::fragments_accepted, 1000);
  set(PortStat::fragments_duplicate, 128);
  set(PortStat::fragments_late, 256);
  published.store(counters.data());
  const PortStatsView stats(published);
  EXPECT_EQ(fragments_dropped(stats), 127u);

  PortLoadMeter meter(1.0, 10e9, 32e6);
  meter.sample(0, 0, 0);
  meter.sample(1'000'000'000, 1'000'000, 4e6);  // 8 Mbit/s over one second
  const PortLoadReport p = port_load_report({0x7f000003, 9000}, meter, stats, 0.75);
  EXPECT_EQ(p.endpoint, (Ipv4Endpoint{0x7f000003, 9000}));
  EXPECT_DOUBLE_EQ(p.bandwidth_bps, 8e6);
  EXPECT_EQ(p.bandwidth_capacity_bps, 10e9);
  EXPECT_EQ(p.memory_bytes, meter.memory_bytes());
  EXPECT_EQ(p.memory_capacity_bytes, 32e6);
  EXPECT_EQ(p.cpu_busy, 0.75);
  EXPECT_EQ(p.streams, 3u);
  EXPECT_EQ(p.fragments_received, 500u);
  EXPECT_EQ(p.fragments_dropped, 127u);
}

TEST(StreamSync, WithoutStreamsIsOneEmptyPartThatStillNamesThePeriod) {
  const std::vector<ctl::StreamSync> parts = build_stream_sync(4, 9, {});
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].gateway_id(), 4u);
  EXPECT_EQ(parts[0].period_seq(), 9u);
  EXPECT_EQ(parts[0].part(), 0u);
  EXPECT_EQ(parts[0].part_count(), 1u);
  EXPECT_EQ(parts[0].streams_size(), 0);
}

TEST(StreamSync, CarriesEveryFieldOfAStream) {
  const std::vector<StreamReport> streams = {stream(21)};
  const std::vector<ctl::StreamSync> parts = build_stream_sync(4, 9, streams);
  ASSERT_EQ(parts.size(), 1u);
  ASSERT_EQ(parts[0].streams_size(), 1);
  const ctl::StreamEntry& e = parts[0].streams(0);
  EXPECT_EQ(e.stream_id(), 21u);
  EXPECT_EQ(e.data_port(), 9000u);
  EXPECT_EQ(e.source_address(), "10.0.0.1");
  EXPECT_EQ(e.source_port(), 40000u);
  EXPECT_EQ(e.device_control_address(), "10.0.0.1");
  EXPECT_EQ(e.device_control_port(), 40001u);
  EXPECT_EQ(e.last_unit_seq(), 12u);
  EXPECT_EQ(e.bandwidth_bps(), 8e6);
  EXPECT_EQ(e.memory_bytes(), 1.5e6);
  EXPECT_EQ(e.unit_bytes(), 4000u);
  EXPECT_EQ(e.units_delivered(), 10u);
  EXPECT_EQ(e.units_lost(), 2u);
  EXPECT_EQ(e.gpu_id(), 3u);
  EXPECT_EQ(e.device_id(), 77u);
}

TEST(StreamSync, ALongListIsCutIntoNumberedPartsThatEachFitADatagram) {
  std::vector<StreamReport> streams;
  for (uint32_t id = 1; id <= 200; ++id) streams.push_back(stream(id));
  const std::vector<ctl::StreamSync> parts = build_stream_sync(4, 9, streams);
  ASSERT_GT(parts.size(), 1u);
  uint32_t next_id = 1;
  for (size_t i = 0; i < parts.size(); ++i) {
    EXPECT_EQ(parts[i].gateway_id(), 4u);
    EXPECT_EQ(parts[i].period_seq(), 9u);
    EXPECT_EQ(parts[i].part(), i);
    EXPECT_EQ(parts[i].part_count(), parts.size());
    EXPECT_LE(parts[i].ByteSizeLong(), 1400u) << "part " << i;
    EXPECT_GT(parts[i].streams_size(), 0) << "part " << i;
    for (const ctl::StreamEntry& e : parts[i].streams()) EXPECT_EQ(e.stream_id(), next_id++);
  }
  EXPECT_EQ(next_id, 201u);  // every stream once, in order
}

}  // namespace
}  // namespace aigw
