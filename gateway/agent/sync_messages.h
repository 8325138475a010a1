// The two reports the agent sends the controller every sync period, LoadSync and
// StreamSync, built from plain data: no agent, data plane or I/O, so what the
// controller is told can be checked field by field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "gateway/agent/load_meter.h"
#include "gateway/core/pipeline_stats.h"
#include "gateway/core/stream_table.h"
#include "protocol/control.pb.h"
#include "protocol/udp_endpoint.h"

namespace aigw {

/// StreamSync lists are split into parts so each datagram stays within 1400 bytes.
constexpr size_t kStreamSyncPartBytes = 1300;

/// One data port as a LoadSync reports it.
struct PortLoadReport {
  Ipv4Endpoint endpoint;  ///< where devices send to it
  double bandwidth_bps = 0;
  double bandwidth_capacity_bps = 0;
  double memory_bytes = 0;
  double memory_capacity_bytes = 0;
  double cpu_busy = 0;  ///< of the core that serves the port
  uint32_t streams = 0;
  uint64_t fragments_received = 0;
  uint64_t fragments_dropped = 0;
};

/// The node as a LoadSync reports it.
struct LoadReport {
  uint32_t gateway_id = 0;
  uint64_t period_seq = 0;
  uint32_t period_ms = 0;
  double cpu_busy = 0;  ///< mean over the data-plane cores
  double memory_capacity_bytes = 0;
  Ipv4Endpoint control;  ///< where the controller reaches the agent
  Ipv4Endpoint egress;   ///< where forwarded units leave from
  std::vector<PortLoadReport> ports;
};

/// One admitted stream as a StreamSync reports it.
struct StreamReport {
  StreamRoute route;  ///< as admitted: ports, addresses, profile, GPU and owner
  uint32_t last_unit_seq = 0;
  double bandwidth_bps = 0;  ///< measured over the period
  uint64_t units_delivered = 0;
  uint64_t units_lost = 0;
};

/// Fragments a port dropped, whatever the reason: every drop counter plus the
/// fragments refused for memory, unit size, inconsistency or window.
uint64_t fragments_dropped(const PortStatsView& stats);

/// A port's share of the LoadSync: its meter (sampled for this period), its counters
/// and the busy fraction of its core.
PortLoadReport port_load_report(const Ipv4Endpoint& endpoint, const PortLoadMeter& meter, const PortStatsView& stats,
                                double cpu_busy);

ctl::LoadSync build_load_sync(const LoadReport& report);

/// The StreamSync parts of one period, numbered and counted: the streams in order, a
/// new part begun once the current one passes `part_bytes`. One empty part when there
/// are no streams, so the controller still learns the period.
std::vector<ctl::StreamSync> build_stream_sync(uint32_t gateway_id, uint64_t period_seq,
                                               std::span<const StreamReport> streams,
                                               size_t part_bytes = kStreamSyncPartBytes);

}  // namespace aigw
