#include "sim/scenario/scenario_toml.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "sim/common/toml_fields.h"
#include "sim/impair/impairment_toml.h"

namespace aigw::sim {

namespace {

constexpr int64_t kMaxCount = 10'000'000;

// Calls `each(table, path)` for every table of an array of tables under `key`.
template <typename Each>
std::string for_each_table(TomlFields& parent, const char* key, Each each) {
  const toml::array* arr = parent.array(key);
  if (!arr) return {};
  for (size_t i = 0; i < arr->size(); ++i) {
    const std::string path = fmt::format("{}[{}]", key, i);
    const toml::table* t = arr->get(i)->as_table();
    if (!t) return path + ": must be a table ([[" + key + "]])";
    if (auto e = each(*t, path); !e.empty()) return e;
  }
  return {};
}

// The [controller] table is the controller's own configuration: its parser checks it.
std::string parse_controller(const toml::table& t, Scenario& s) {
  std::ostringstream text;
  text << t;
  std::string error;
  if (!controller::parse_config(text.str(), s.controller, error)) return "controller: " + error;
  if (!t.contains("sync_period_ms")) s.controller.sync_period_ms = s.period_ms;
  return {};
}

std::string parse_gateway(const toml::table& t, const std::string& path, Scenario& s) {
  TomlFields f(t, path);
  GatewaySpec g;
  int64_t count = 1;
  f.integer("count", count, 1, 100'000);
  f.unsigned_int("ports", g.ports, 1, 64);
  double mbps = g.port_capacity_bps / 1e6;
  if (f.number("port_capacity_mbps", mbps, 0.001, 1e6)) g.port_capacity_bps = mbps * 1e6;
  double mb = g.memory_bytes / 1e6;
  if (f.number("memory_mb", mb, 0.001, 1e7)) g.memory_bytes = mb * 1e6;
  f.number("cpu_fragments_per_s", g.cpu_fragments_per_s, 1, 1e9);
  f.number("base_loss", g.base_loss, 0, 1);
  f.number("overload_knee", g.overload_knee, 0, 0.999);
  f.number("overload_loss", g.overload_loss, 0, 1);
  if (auto e = f.finish(); !e.empty()) return e;
  for (int64_t i = 0; i < count; ++i) {
    g.id = static_cast<uint32_t>(s.gateways.size() + 1);
    s.gateways.push_back(g);
  }
  return {};
}

std::string parse_gpu(const toml::table& t, const std::string& path, Scenario& s) {
  TomlFields f(t, path);
  GpuSpec g;
  int64_t count = 1;
  f.integer("count", count, 1, 10'000);
  if (const toml::array* m = f.array("models")) {
    for (const auto& v : *m) {
      if (!v.is_string()) return path + ": 'models' must be an array of strings";
      g.models.push_back(*v.value<std::string>());
    }
  }
  if (g.models.empty()) g.models.push_back("openpose");
  f.number("capacity_units_per_s", g.capacity_units_per_s, 0.001, 1e9);
  f.unsigned_int("batch_max", g.batch_max, 1, 4096);
  f.number("batch_scale", g.batch_scale, 0, 1);
  f.number("inference_ms", g.inference_ms, 0, 1e6);
  f.number("batch_cost", g.batch_cost, 0, 1);
  if (auto e = f.finish(); !e.empty()) return e;
  for (int64_t i = 0; i < count; ++i) {
    g.id = static_cast<uint32_t>(s.gpus.size() + 1);
    s.gpus.push_back(g);
  }
  return {};
}

std::string parse_phase(const toml::table& t, const std::string& path, StreamGroup& g) {
  TomlFields f(t, path);
  UnitSizePhase ph;
  f.unsigned_int("from_period", ph.from_period, 0, 100'000'000);
  std::string dist = "constant";
  f.text("dist", dist);
  if (dist == "constant") {
    ph.dist = SizeDist::constant;
    f.number("bytes", ph.mean_bytes, 1, 1e9, true);
  } else if (dist == "uniform") {
    ph.dist = SizeDist::uniform;
    f.number("min_bytes", ph.min_bytes, 1, 1e9, true);
    f.number("max_bytes", ph.max_bytes, 1, 1e9, true);
    ph.mean_bytes = (ph.min_bytes + ph.max_bytes) / 2;
  } else if (dist == "normal") {
    ph.dist = SizeDist::normal;
    f.number("mean_bytes", ph.mean_bytes, 1, 1e9, true);
    f.number("stddev_bytes", ph.stddev_bytes, 0, 1e9, true);
    f.number("min_bytes", ph.min_bytes, 1, 1e9);
    ph.max_bytes = std::max(ph.max_bytes, ph.mean_bytes * 4);
    f.number("max_bytes", ph.max_bytes, 1, 1e9);
  } else {
    f.fail(fmt::format("dist '{}' is not one of constant, uniform, normal", dist));
  }
  if (auto e = f.finish(); !e.empty()) return e;
  g.unit_size.push_back(ph);
  return {};
}

std::string parse_streams(const toml::table& t, const std::string& path, Scenario& s) {
  TomlFields f(t, path);
  StreamGroup g;
  g.name = fmt::format("group{}", s.streams.size() + 1);
  f.text("name", g.name);
  f.unsigned_int("count", g.count, 1, kMaxCount, true);
  f.text("model", g.model);
  f.unsigned_int("period_ms", g.period_ms, 1, 3'600'000);
  f.unsigned_int("start_period", g.start_period, 0, 100'000'000);
  f.unsigned_int("start_spread_periods", g.start_spread_periods, 0, 100'000'000);
  f.unsigned_int("stop_period", g.stop_period, 0, 100'000'000);
  f.number("per_stream_spread", g.per_stream_spread, 0, 0.99);
  f.unsigned_int("fragment_payload", g.fragment_payload, 64, 8192);
  double bytes = 0;
  const bool has_bytes = f.number("unit_bytes", bytes, 1, 1e9) && bytes > 0;
  if (auto e = for_each_table(f, "unit_size", [&](const toml::table& pt, const std::string& p) {
        return parse_phase(pt, path + "." + p, g);
      });
      !e.empty())
    return e;
  if (auto e = f.finish(); !e.empty()) return e;
  if (has_bytes) {
    if (!g.unit_size.empty()) return path + ": give either unit_bytes or [[streams.unit_size]], not both";
    UnitSizePhase ph;
    ph.mean_bytes = bytes;
    g.unit_size.push_back(ph);
  }
  if (g.unit_size.empty()) return path + ": needs unit_bytes or at least one [[streams.unit_size]]";
  std::stable_sort(g.unit_size.begin(), g.unit_size.end(),
                   [](const UnitSizePhase& a, const UnitSizePhase& b) { return a.from_period < b.from_period; });
  s.streams.push_back(std::move(g));
  return {};
}

}  // namespace

std::string parse_scenario(const toml::table& doc, Scenario& s) {
  s = Scenario{};
  TomlFields root(doc, "");
  const toml::table* head = root.table("scenario");
  if (!head) return "missing [scenario] table";
  {
    TomlFields f(*head, "scenario");
    f.text("name", s.name, true);
    f.text("description", s.description);
    if (f.text("mode", s.mode) && s.mode != "live" && s.mode != "discrete")
      f.fail(fmt::format("mode '{}' is not live or discrete", s.mode));
    int64_t seed = 1;
    f.integer("seed", seed, 0, INT64_MAX);
    s.seed = static_cast<uint64_t>(seed);
    f.unsigned_int("period_ms", s.period_ms, 1, 3'600'000);
    f.unsigned_int("duration_periods", s.duration_periods, 1, 10'000'000);
    f.number("scale", s.scale, 1e-6, 1);
    if (auto e = f.finish(); !e.empty()) return e;
  }
  s.controller.sync_period_ms = s.period_ms;
  if (const toml::table* c = root.table("controller"))
    if (auto e = parse_controller(*c, s); !e.empty()) return e;
  if (auto e = for_each_table(root, "gateway",
                              [&](const toml::table& t, const std::string& p) { return parse_gateway(t, p, s); });
      !e.empty())
    return e;
  if (auto e = for_each_table(root, "gpu",
                              [&](const toml::table& t, const std::string& p) { return parse_gpu(t, p, s); });
      !e.empty())
    return e;
  if (auto e = for_each_table(root, "streams",
                              [&](const toml::table& t, const std::string& p) { return parse_streams(t, p, s); });
      !e.empty())
    return e;
  if (const toml::table* imp = root.table("impairment")) {
    s.impaired = true;
    s.impairment.seed = s.seed;
    // `hop` is the scenario's own key; the rest is aigw-impair's table.
    toml::table link = *imp;
    if (const toml::node* h = link.get("hop")) {
      const auto hop = h->value<std::string>();
      if (!hop || !parse_impaired_hop(*hop, s.impaired_hop))
        return "impairment.hop: expected \"device\", \"gpu\" or \"both\"";
      link.erase("hop");
    }
    if (auto e = parse_impairment(link, "impairment", s.impairment); !e.empty()) return e;
  }
  if (auto e = for_each_table(root, "failure",
                              [&](const toml::table& t, const std::string& p) {
                                TomlFields f(t, p);
                                FailureEvent ev;
                                f.unsigned_int("at_period", ev.at_period, 0, 100'000'000, true);
                                f.unsigned_int("gateway", ev.gateway_id, 1, 100'000, true);
                                if (auto e = f.finish(); !e.empty()) return e;
                                s.failures.push_back(ev);
                                return std::string{};
                              });
      !e.empty())
    return e;
  if (auto e = root.finish(); !e.empty()) return e;
  return validate(s);
}

std::string load_scenario(const std::string& path, Scenario& out) {
  try {
    const toml::table doc = toml::parse_file(path);
    if (auto e = parse_scenario(doc, out); !e.empty()) return path + ": " + e;
    return {};
  } catch (const toml::parse_error& e) {
    return fmt::format("{}:{}:{}: {}", path, e.source().begin.line, e.source().begin.column, e.description());
  }
}

}  // namespace aigw::sim
