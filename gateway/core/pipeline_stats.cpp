#include "gateway/core/pipeline_stats.h"

namespace aigw {

namespace {

constexpr const char* kDrops = "port_dropped_datagrams_total";
constexpr const char* kDropHelp = "Datagrams dropped before reassembly, by reason";
constexpr const char* kFrag = "port_fragments_total";
constexpr const char* kFragHelp = "Fragments handed to the reassembler, by verdict";
constexpr const char* kLost = "port_units_lost_total";
constexpr const char* kLostHelp = "Units reported lost, by reason";

constexpr StatInfo kPortInfo[kPortStatCount] = {
    {"port_datagrams_total", nullptr, false, "Datagrams received on the data port"},
    {"port_bytes_total", nullptr, false, "UDP payload bytes received on the data port"},
    {kDrops, "truncated", false, kDropHelp},
    {kDrops, "bad_magic", false, kDropHelp},
    {kDrops, "bad_version", false, kDropHelp},
    {kDrops, "bad_header_length", false, kDropHelp},
    {kDrops, "bad_type", false, kDropHelp},
    {kDrops, "bad_flags", false, kDropHelp},
    {kDrops, "bad_header_checksum", false, kDropHelp},
    {kDrops, "zero_count", false, kDropHelp},
    {kDrops, "index_out_of_range", false, kDropHelp},
    {kDrops, "inconsistent_geometry", false, kDropHelp},
    {kDrops, "length_mismatch", false, kDropHelp},
    {kDrops, "payload_truncated", false, kDropHelp},
    {kDrops, "unknown_stream", false, kDropHelp},
    {kDrops, "wrong_source", false, kDropHelp},
    {kDrops, "wrong_port", false, kDropHelp},
    {kDrops, "released", false, kDropHelp},
    {kFrag, "accepted", false, kFragHelp},
    {kFrag, "completed", false, kFragHelp},
    {kFrag, "duplicate", false, kFragHelp},
    {kFrag, "late", false, kFragHelp},
    {kFrag, "unknown_stream", false, kFragHelp},
    {kFrag, "unit_too_large", false, kFragHelp},
    {kFrag, "inconsistent", false, kFragHelp},
    {kFrag, "no_memory", false, kFragHelp},
    {kFrag, "out_of_window", false, kFragHelp},
    {"port_units_completed_total", nullptr, false, "Units reassembled whole"},
    {kLost, "deadline", false, kLostHelp},
    {kLost, "nack_rounds", false, kLostHelp},
    {kLost, "memory_budget", false, kLostHelp},
    {kLost, "table_full", false, kLostHelp},
    {kLost, "stream_removed", false, kLostHelp},
    {kLost, "superseded", false, kLostHelp},
    {"port_nacks_sent_total", nullptr, false, "NACK messages sent to devices"},
    {"port_nacks_withheld_total", nullptr, false, "NACKs not sent: the unit brought too few bytes to pay for them"},
    {"port_nacked_fragments_total", nullptr, false, "Fragments named in NACKs"},
    {"port_retransmissions_received_total", nullptr, false, "Retransmitted fragments received"},
    {"port_memory_bytes", nullptr, true, "Bytes held by in-flight units"},
    {"port_units_in_flight", nullptr, true, "Incomplete units held"},
    {"port_streams", nullptr, true, "Admitted streams on the port"},
};

constexpr const char* kEgressHelp = "Egress (GPU-bound) sender events";
constexpr StatInfo kEgressInfo[kEgressStatCount] = {
    {"egress_units_forwarded_total", nullptr, false, "Complete units handed to the egress sender"},
    {"egress_units_not_forwarded_total", nullptr, false, "Complete units the egress store refused"},
    {"egress_fragments_sent_total", nullptr, false, "Fragments sent to GPU servers"},
    {"egress_fragments_resent_total", nullptr, false, "Fragments resent on GPU NACKs"},
    {"egress_bytes_sent_total", nullptr, false, "Bytes sent to GPU servers"},
    {"egress_gpu_messages_total", "nack", false, kEgressHelp},
    {"egress_gpu_messages_total", "nack_unanswerable", false, kEgressHelp},
    {"egress_gpu_messages_total", "ack", false, kEgressHelp},
    {"egress_gpu_messages_total", "rejected", false, kEgressHelp},
    {"egress_units_released_total", "acked", false, "Units leaving the egress store"},
    {"egress_units_released_total", "expired", false, "Units leaving the egress store"},
    {"egress_units_released_total", "evicted", false, "Units leaving the egress store"},
    {"egress_send_blocked_total", nullptr, false, "Sends deferred because the transport was full"},
    {"egress_fragments_without_route_total", nullptr, false, "Fragments of streams no longer routed"},
    {"egress_probes_total", nullptr, false, "Last fragments resent because a GPU server had not acked the unit"},
    {"streams_refused_total", nullptr, false, "Stream assignments refused because a stream table was full"},
};

}  // namespace

const StatInfo& stat_info(PortStat s) { return kPortInfo[static_cast<size_t>(s)]; }
const StatInfo& stat_info(EgressStat s) { return kEgressInfo[static_cast<size_t>(s)]; }

}  // namespace aigw
