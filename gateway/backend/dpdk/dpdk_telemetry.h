// DPDK telemetry commands for the gateway's counters, served by the EAL's telemetry
// socket (dpdk-telemetry.py, or <runtime dir>/dpdk_telemetry.v2):
//   /aigw/ports            list of data port numbers
//   /aigw/port,<index>     pipeline counters of one port (metric_reason -> value)
//   /aigw/frames,<index>   frame-level counters of one port (parse errors, ARP, ICMP, TX)
//   /aigw/egress           egress sender counters summed over lcores
//   /aigw/cpu              busy and total TSC cycles per worker lcore
#pragma once

namespace aigw {

class DpdkBackend;

/// Points the commands at `backend` (registering them on first use).
void dpdk_telemetry_register(const DpdkBackend* backend);
/// Detaches `backend`; the commands then answer with an error.
void dpdk_telemetry_unregister(const DpdkBackend* backend);

}  // namespace aigw
