// The controller's soft state: the resource-load table (gateways and their ports, fed
// by LoadSync) and the stream-access table (streams, fed by admission and StreamSync).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "protocol/udp_endpoint.h"

namespace aigw::controller {

struct PortState {
  std::string address;         // data address devices send to
  uint32_t port = 0;
  double bandwidth_bps = 0;    // as last reported
  double bandwidth_capacity_bps = 0;
  double memory_bytes = 0;
  double memory_capacity_bytes = 0;
  uint32_t reported_streams = 0;
};

struct GatewayState {
  uint32_t id = 0;
  UdpEndpoint control;         // resolved control address
  UdpEndpoint last_source;     // source of its latest datagram
  UdpEndpoint egress;          // where its units to GPU servers leave from
  std::vector<PortState> ports;
  uint32_t period_ms = 1000;
  uint64_t period_seq = 0;
  double cpu_busy = 0;
  double memory_capacity_bytes = 0;
  bool draining_reported = false;  // the gateway asked (LoadSync.draining)
  bool draining_operator = false;  // aigwctl drain
  bool alive = false;
  int64_t last_sync_ns = 0;
  // A migration from or to it ended recently: until then its measured load does not
  // yet show the move, so balancing leaves it alone.
  int64_t settled_ns = 0;
  uint64_t syncs = 0;

  bool draining() const { return draining_reported || draining_operator; }
};

struct StreamState {
  uint32_t stream_id = 0;
  uint32_t device_id = 0;          // 0: adopted from a StreamSync, owner not yet known
  uint32_t gateway_id = 0;
  uint32_t port_index = 0;
  std::string source_address;
  uint32_t source_port = 0;
  UdpEndpoint device_control;
  uint32_t unit_bytes = 0;
  uint32_t period_ms = 0;
  std::string model;
  double bandwidth_bps = 0;        // admitted demand
  double memory_bytes = 0;
  uint32_t gpu_id = 0;
  uint32_t first_unit_seq = 0;
  uint32_t last_unit_seq = 0;
  uint64_t units_delivered = 0;
  uint64_t units_lost = 0;
  uint64_t units_lost_failover = 0;  // sent to a gateway that died before finishing them
  bool confirmed = false;          // listed by its gateway's StreamSync since assignment
  int64_t assigned_ns = 0;
  int64_t cooldown_until_ns = 0;
  // While migrating: where it is going (its demand counts on both ports meanwhile).
  uint32_t target_gateway = 0;
  uint32_t target_port = 0;

  double units_per_s() const { return period_ms ? 1000.0 / period_ms : 1.0; }
};

}  // namespace aigw::controller
