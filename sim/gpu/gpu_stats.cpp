#include "sim/gpu/gpu_stats.h"

#include <string>

namespace aigw::sim {

nlohmann::json gpu_stats_json(const GpuNode& node, uint32_t gpu_id) {
  const GpuNodeCounters& c = node.counters();
  const ReceiverCounters& rc = node.receiver().counters();
  nlohmann::json fragments = nlohmann::json::object();
  for (size_t v = 0; v < static_cast<size_t>(FragmentVerdict::kVerdictCount); ++v)
    fragments[to_string(static_cast<FragmentVerdict>(v))] = rc.fragments[v];
  nlohmann::json lost = nlohmann::json::object();
  for (uint8_t r = static_cast<uint8_t>(LossReason::deadline); r <= static_cast<uint8_t>(LossReason::superseded); ++r)
    lost[to_string(static_cast<LossReason>(r))] = rc.units_lost[r];
  nlohmann::json models = nlohmann::json::array();
  for (const auto& m : node.accelerator().stats())
    models.push_back({{"name", m.name},
                      {"units_inferred", m.units_inferred},
                      {"units_dropped", m.units_dropped},
                      {"batches", m.batches},
                      {"mean_batch", m.mean_batch()},
                      {"mean_latency_ms", m.mean_latency_ms()},
                      {"queued", m.queued}});
  nlohmann::json streams = nlohmann::json::object();
  for (const auto& [id, r] : node.streams())
    streams[std::to_string(id)] = {{"verified", r.verified}, {"recovered", r.recovered}, {"corrupt", r.corrupt},
                                   {"lost", r.lost},         {"last_seq", r.last_seq},   {"nacks", r.nacks}};
  return {{"gpu_id", gpu_id},
          {"load", node.last_load()},
          {"counters",
           {{"datagrams", c.datagrams},
            {"malformed", c.malformed},
            {"streams_refused", c.streams_refused},
            {"units_completed", c.units_completed},
            {"units_verified", c.units_verified},
            {"units_corrupt", c.units_corrupt},
            {"units_lost", c.units_lost},
            {"units_not_queued", c.units_not_queued},
            {"acks_sent", c.acks_sent},
            {"acks_repeated", c.acks_repeated},
            {"nacks_sent", c.nacks_sent},
            {"syncs_sent", c.syncs_sent}}},
          {"receiver",
           {{"fragments", fragments},
            {"units_lost", lost},
            {"nacked_fragments", rc.nacked_fragments},
            {"retransmissions_received", rc.retransmissions_received},
            {"units_in_flight", node.receiver().units_in_flight()},
            {"memory_in_use", node.receiver().memory_in_use()}}},
          {"models", models},
          {"streams", streams}};
}

}  // namespace aigw::sim
