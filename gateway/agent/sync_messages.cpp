#include "gateway/agent/sync_messages.h"

namespace aigw {

namespace {

uint64_t stat(const PortStatsView& stats, PortStat s) { return stats.get(static_cast<size_t>(s)); }

void fill_entry(const StreamReport& s, ctl::StreamEntry& e) {
  e.set_stream_id(s.route.stream_id);
  e.set_data_port(s.route.data_port);
  e.set_source_address(ipv4_to_string(s.route.source.ip));
  e.set_source_port(s.route.source.port);
  e.set_device_control_address(ipv4_to_string(s.route.device_control.ip));
  e.set_device_control_port(s.route.device_control.port);
  e.set_last_unit_seq(s.last_unit_seq);
  e.set_bandwidth_bps(s.bandwidth_bps);
  e.set_memory_bytes(s.route.memory_bytes);
  e.set_unit_bytes(s.route.unit_bytes);
  e.set_units_delivered(s.units_delivered);
  e.set_units_lost(s.units_lost);
  e.set_gpu_id(s.route.gpu_id);
  e.set_device_id(s.route.device_id);
}

}  // namespace

uint64_t fragments_dropped(const PortStatsView& stats) {
  uint64_t dropped = 0;
  for (size_t k = static_cast<size_t>(PortStat::drop_truncated); k <= static_cast<size_t>(PortStat::drop_released); ++k)
    dropped += stats.get(k);
  return dropped + stat(stats, PortStat::fragments_no_memory) + stat(stats, PortStat::fragments_unit_too_large) +
         stat(stats, PortStat::fragments_inconsistent) + stat(stats, PortStat::fragments_out_of_window);
}

PortLoadReport port_load_report(const Ipv4Endpoint& endpoint, const PortLoadMeter& meter, const PortStatsView& stats,
                                double cpu_busy) {
  PortLoadReport p;
  p.endpoint = endpoint;
  p.bandwidth_bps = meter.bandwidth_bps();
  p.bandwidth_capacity_bps = meter.capacity_bps();
  p.memory_bytes = meter.memory_bytes();
  p.memory_capacity_bytes = meter.memory_capacity_bytes();
  p.cpu_busy = cpu_busy;
  p.streams = static_cast<uint32_t>(stat(stats, PortStat::streams));
  p.fragments_received = stat(stats, PortStat::datagrams);
  p.fragments_dropped = fragments_dropped(stats);
  return p;
}

ctl::LoadSync build_load_sync(const LoadReport& report) {
  ctl::LoadSync ls;
  ls.set_gateway_id(report.gateway_id);
  ls.set_period_seq(report.period_seq);
  ls.set_period_ms(report.period_ms);
  for (const PortLoadReport& port : report.ports) {
    ctl::PortLoad* p = ls.add_ports();
    p->set_address(ipv4_to_string(port.endpoint.ip));
    p->set_port(port.endpoint.port);
    p->set_bandwidth_bps(port.bandwidth_bps);
    p->set_bandwidth_capacity_bps(port.bandwidth_capacity_bps);
    p->set_memory_bytes(port.memory_bytes);
    p->set_memory_capacity_bytes(port.memory_capacity_bytes);
    p->set_cpu_busy(port.cpu_busy);
    p->set_stream_count(port.streams);
    p->set_fragments_received(port.fragments_received);
    p->set_fragments_dropped(port.fragments_dropped);
  }
  ls.set_cpu_busy(report.cpu_busy);
  ls.set_memory_capacity_bytes(report.memory_capacity_bytes);
  ls.set_control_address(ipv4_to_string(report.control.ip));
  ls.set_control_port(report.control.port);
  ls.set_egress_address(ipv4_to_string(report.egress.ip));
  ls.set_egress_port(report.egress.port);
  return ls;
}

std::vector<ctl::StreamSync> build_stream_sync(uint32_t gateway_id, uint64_t period_seq,
                                               std::span<const StreamReport> streams, size_t part_bytes) {
  std::vector<ctl::StreamSync> parts(1);
  for (const StreamReport& s : streams) {
    if (parts.back().ByteSizeLong() > part_bytes) parts.emplace_back();
    fill_entry(s, *parts.back().add_streams());
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    parts[i].set_gateway_id(gateway_id);
    parts[i].set_period_seq(period_seq);
    parts[i].set_part(static_cast<uint32_t>(i));
    parts[i].set_part_count(static_cast<uint32_t>(parts.size()));
  }
  return parts;
}

}  // namespace aigw
