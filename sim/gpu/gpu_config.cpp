#include "sim/gpu/gpu_config.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "sim/common/toml_fields.h"

namespace aigw::sim {

GpuEmuConfig default_gpu_emu_config() {
  GpuEmuConfig c;
  make_endpoint("127.0.0.1", 0, c.data_bind);
  make_endpoint("127.0.0.1", 0, c.control_bind);
  make_endpoint("127.0.0.1", 7700, c.controller);
  // Units may arrive from several gateways at once: a roomy budget, as a GPU host has.
  c.node.server.receiver.memory_budget_bytes = size_t{512} << 20;
  return c;
}

namespace {

int64_t ms_ns(double ms) { return static_cast<int64_t>(ms * 1e6); }

std::string endpoint(TomlFields& f, const char* key, UdpEndpoint& out) {
  std::string text;
  if (!f.text(key, text) || text.empty()) return {};
  if (auto e = parse_endpoint(text, out); !e.empty()) return fmt::format("{}.{}: {}", f.path(), key, e);
  return {};
}

std::string parse_doc(const toml::table& doc, GpuEmuConfig& c) {
  TomlFields root(doc, "");
  server::ServerConfig& n = c.node.server;
  if (const toml::table* t = root.table("gpu")) {
    TomlFields f(*t, "gpu");
    f.unsigned_int("id", n.gpu_id, 1, 0xFFFFFF);
    if (const toml::array* m = f.array("models")) {
      n.models.clear();
      for (const auto& v : *m) {
        if (!v.is_string()) return "gpu.models must be an array of strings";
        n.models.push_back(*v.value<std::string>());
      }
      if (n.models.empty()) return "gpu.models must name at least one model";
    }
    f.number("capacity_units_per_s", n.capacity_units_per_s, 0.001, 1e9);
    for (auto [key, ep] : {std::pair{"data_bind", &c.data_bind}, std::pair{"control_bind", &c.control_bind},
                           std::pair{"controller", &c.controller}, std::pair{"advertise", &c.advertise}})
      if (auto e = endpoint(f, key, *ep); !e.empty()) return e;
    f.unsigned_int("key_id", n.key_id, 0, UINT32_MAX);
    std::string hex, key_file;
    f.text("key", hex);
    f.text("key_file", key_file);
    double period_ms = static_cast<double>(n.period_ns) / 1e6;
    if (f.number("period_ms", period_ms, 10, 3'600'000)) n.period_ns = ms_ns(period_ms);
    f.unsigned_int("max_streams", n.max_streams, 1, 1'000'000);
    f.text("log_level", c.log_level);
    if (auto e = f.finish(); !e.empty()) return e;
    if (!key_file.empty()) {
      struct stat st {};
      if (stat(key_file.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
        return "gpu.key_file: " + key_file + " can be read by others: chmod 600";
      std::ifstream kf(key_file);
      if (!kf) return "gpu.key_file: cannot read " + key_file;
      std::getline(kf, hex);
    }
    if (!hex.empty()) {
      if (!KeyRing::parse_hex(hex, n.key)) return "gpu.key must be 64 hex digits";
      c.have_key = true;
    }
  }
  if (const toml::table* t = root.table("batch")) {
    TomlFields f(*t, "batch");
    AcceleratorConfig& a = c.node.accelerator;
    f.unsigned_int("batch_max", a.batch_max, 1, 4096);
    f.number("scale", a.scale, 0, 1);
    double ms = static_cast<double>(a.inference_ns) / 1e6;
    if (f.number("inference_ms", ms, 0, 1e6)) a.inference_ns = ms_ns(ms);
    f.number("batch_cost", a.batch_cost, 0, 1);
    ms = static_cast<double>(a.max_wait_ns) / 1e6;
    if (f.number("max_wait_ms", ms, 0, 1e6)) a.max_wait_ns = ms_ns(ms);
    f.unsigned_int("max_queue", a.max_queue, 1, 10'000'000);
    if (auto e = f.finish(); !e.empty()) return e;
  }
  if (const toml::table* t = root.table("receiver")) {
    TomlFields f(*t, "receiver");
    ReceiverConfig& r = n.receiver;
    auto ms_field = [&](const char* key, int64_t& out, double min_ms = 0) {
      double ms = static_cast<double>(out) / 1e6;
      if (f.number(key, ms, min_ms, 3'600'000)) out = ms_ns(ms);
    };
    ms_field("unit_deadline_ms", r.unit_deadline_ns, 1);  // 0 would lose every unit on arrival
    ms_field("reorder_tolerance_ms", r.reorder_tolerance_ns);
    ms_field("renack_interval_ms", r.renack_interval_ns);
    ms_field("idle_nack_ms", r.idle_nack_ns);
    f.unsigned_int("max_nack_rounds", r.max_nack_rounds, 1, 1000);
    double mb = static_cast<double>(r.memory_budget_bytes) / (1 << 20);
    if (f.number("memory_budget_mb", mb, 1, 1 << 20)) r.memory_budget_bytes = static_cast<size_t>(mb * (1 << 20));
    f.unsigned_int("max_unit_bytes", r.max_unit_bytes, 64, 1u << 30);
    if (auto e = f.finish(); !e.empty()) return e;
  }
  if (const toml::table* t = root.table("stats")) {
    TomlFields f(*t, "stats");
    f.text("file", c.stats_file);
    if (auto e = f.finish(); !e.empty()) return e;
  }
  return root.finish();
}

}  // namespace

std::string parse_gpu_emu_config(const std::string& text, GpuEmuConfig& out) {
  try {
    return parse_doc(toml::parse(text), out);
  } catch (const toml::parse_error& e) {
    return fmt::format("line {}: {}", e.source().begin.line, e.description());
  }
}

std::string load_gpu_emu_config(const std::string& path, GpuEmuConfig& out) {
  std::ifstream f(path);
  if (!f) return path + ": cannot read";
  std::stringstream s;
  s << f.rdbuf();
  if (auto e = parse_gpu_emu_config(s.str(), out); !e.empty()) return path + ": " + e;
  return {};
}

}  // namespace aigw::sim
