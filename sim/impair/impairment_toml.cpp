#include "sim/impair/impairment_toml.h"

#include "sim/common/toml_fields.h"

namespace aigw::sim {

namespace {
int64_t ms_to_ns(double ms) { return static_cast<int64_t>(ms * 1e6); }
}  // namespace

std::string parse_impairment(const toml::table& table, const std::string& path, ImpairmentConfig& out) {
  TomlFields f(table, path);
  int64_t seed = static_cast<int64_t>(out.seed);
  f.integer("seed", seed, 0, INT64_MAX);
  out.seed = static_cast<uint64_t>(seed);
  f.number("loss", out.loss, 0, 1);
  f.number("duplicate", out.duplicate, 0, 1);
  f.number("reorder", out.reorder, 0, 1);
  double ms = static_cast<double>(out.reorder_delay_ns) / 1e6;
  if (f.number("reorder_delay_ms", ms, 0, 60'000)) out.reorder_delay_ns = ms_to_ns(ms);
  ms = static_cast<double>(out.delay_ns) / 1e6;
  if (f.number("delay_ms", ms, 0, 60'000)) out.delay_ns = ms_to_ns(ms);
  ms = static_cast<double>(out.jitter_ns) / 1e6;
  if (f.number("jitter_ms", ms, 0, 60'000)) out.jitter_ns = ms_to_ns(ms);
  double mbps = out.rate_bps / 1e6;
  if (f.number("rate_mbps", mbps, 0, 1e6)) out.rate_bps = mbps * 1e6;
  double kb = static_cast<double>(out.queue_bytes) / 1024;
  if (f.number("queue_kb", kb, 1, 16.0 * 1024 * 1024)) out.queue_bytes = static_cast<size_t>(kb * 1024);
  f.unsigned_int("max_packets", out.max_packets, 1, 1 << 24);
  f.unsigned_int("max_packet_bytes", out.max_packet_bytes, 64, 65536);
  if (const toml::table* b = f.table("burst")) {
    TomlFields bf(*b, path + ".burst");
    bf.number("p_good_to_bad", out.burst.p_good_to_bad, 0, 1);
    bf.number("p_bad_to_good", out.burst.p_bad_to_good, 0, 1);
    bf.number("loss_in_good", out.burst.loss_in_good, 0, 1);
    bf.number("loss_in_bad", out.burst.loss_in_bad, 0, 1);
    std::string e = bf.finish();
    if (!e.empty()) return e;
  }
  std::string e = f.finish();
  if (!e.empty()) return e;
  e = out.validate();
  return e.empty() ? e : path + ": " + e;
}

}  // namespace aigw::sim
