#include "controller/core/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <utility>
#include <toml++/toml.h>

#include "protocol/envelope.h"
#include "protocol/log.h"
#include "protocol/udp_endpoint.h"

namespace aigw::controller {
namespace {

using Json = nlohmann::json;

/// One configuration key: how to read it from TOML, render it, and set it from text.
struct Field {
  std::string key;
  bool live;  // settable at run time (others need a restart)
  std::function<Json(const ControllerConfig&)> get;
  std::function<bool(ControllerConfig&, const std::string&, std::string&)> set_text;
  std::function<bool(ControllerConfig&, const toml::node&, std::string&)> set_toml;
  std::function<void(const ControllerConfig&, toml::table&, const std::string&)> put;
};

template <typename T>
using Ref = std::function<T&(ControllerConfig&)>;
template <typename T>
using Check = std::function<bool(const T&)>;

bool parse_text(const std::string& s, double& v) {
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() && std::isfinite(v);
}
template <typename I>
bool parse_text(const std::string& s, I& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}
bool parse_text(const std::string& s, bool& v) {
  if (s == "true" || s == "on" || s == "1") v = true;
  else if (s == "false" || s == "off" || s == "0") v = false;
  else return false;
  return true;
}
bool parse_text(const std::string& s, std::string& v) {
  v = s;
  return true;
}

template <typename T>
bool from_toml(const toml::node& n, T& v) {
  if constexpr (std::is_same_v<T, double>) {
    auto x = n.value<double>();
    if (!x || !std::isfinite(*x)) return false;  // NaN passes no range check; inf passes some
    v = *x;
  } else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string>) {
    auto x = n.value<T>();
    if (!x) return false;
    v = *x;
  } else {
    auto x = n.value<int64_t>();
    if (!x || !std::in_range<T>(*x)) return false;
    v = static_cast<T>(*x);
  }
  return true;
}

/// The table a dotted key lives in, created on demand, and the last component.
toml::table& section(toml::table& root, const std::string& key, std::string& leaf) {
  const auto dot = key.find('.');
  if (dot == std::string::npos) {
    leaf = key;
    return root;
  }
  leaf = key.substr(dot + 1);
  const std::string sec = key.substr(0, dot);
  if (!root.contains(sec)) root.insert(sec, toml::table{});
  return *root[sec].as_table();
}

template <typename T>
Field field(std::string key, bool live, Ref<T> ref, Check<T> ok, std::string rule) {
  Field f;
  f.key = key;
  f.live = live;
  f.get = [ref](const ControllerConfig& c) { return Json(ref(const_cast<ControllerConfig&>(c))); };
  auto assign = [ref, ok, rule, key](ControllerConfig& c, const T& v, std::string& err) {
    if (!ok(v)) {
      err = key + ": " + rule;
      return false;
    }
    ref(c) = v;
    return true;
  };
  f.set_text = [assign, key](ControllerConfig& c, const std::string& s, std::string& err) {
    T v{};
    if (!parse_text(s, v)) {
      err = key + ": cannot parse '" + s + "'";
      return false;
    }
    return assign(c, v, err);
  };
  f.set_toml = [assign, key](ControllerConfig& c, const toml::node& n, std::string& err) {
    T v{};
    if (!from_toml(n, v)) {
      err = key + ": wrong type or out of range";
      return false;
    }
    return assign(c, v, err);
  };
  f.put = [ref](const ControllerConfig& c, toml::table& root, const std::string& k) {
    std::string leaf;
    toml::table& t = section(root, k, leaf);
    const T& v = ref(const_cast<ControllerConfig&>(c));
    if constexpr (std::is_same_v<T, double> || std::is_same_v<T, bool> || std::is_same_v<T, std::string>)
      t.insert_or_assign(leaf, v);
    else
      t.insert_or_assign(leaf, int64_t(v));
  };
  return f;
}

template <typename T>
Check<T> any() {
  return [](const T&) { return true; };
}
Check<double> in(double lo, double hi) {
  return [lo, hi](const double& v) { return v >= lo && v <= hi; };
}
Check<double> open_unit() {
  return [](const double& v) { return v > 0 && v < 1; };
}
Check<uint32_t> at_least(uint32_t lo) {
  return [lo](const uint32_t& v) { return v >= lo; };
}
/// "address:port" or "[v6]:port" that a socket can bind (empty allowed when `optional`).
Check<std::string> listen_address(bool optional) {
  return [optional](const std::string& v) {
    UdpEndpoint e;
    return (optional && v.empty()) || parse_endpoint(v, e).empty();
  };
}

/// The keys outside any section: identity, addresses, keys, logging, the round.
void top_level_fields(std::vector<Field>& f) {
  using C = ControllerConfig;
  f.push_back(field<uint32_t>("controller_id", false, [](C& c) -> uint32_t& { return c.controller_id; },
                              [](const uint32_t& v) { return v >= 1 && v <= 0xFFFFFF; }, "1 .. 16777215"));
  f.push_back(field<std::string>("listen", false, [](C& c) -> std::string& { return c.listen; },
                                 listen_address(false), "host:port (port 0..65535)"));
  f.push_back(field<std::string>("control_socket", false, [](C& c) -> std::string& { return c.control_socket; },
                                 any<std::string>(), ""));
  f.push_back(field<std::string>("http_listen", false, [](C& c) -> std::string& { return c.http_listen; },
                                 listen_address(true), "host:port (port 0..65535), or empty for none"));
  f.push_back(field<uint32_t>("controller_key_id", false, [](C& c) -> uint32_t& { return c.controller_key_id; },
                              any<uint32_t>(), ""));
  f.push_back(field<std::string>("log_level", true, [](C& c) -> std::string& { return c.log_level; },
                                 [](const std::string& v) { log::Level l; return log::parse_level(v, l); },
                                 "one of debug, info, warn, error, off"));
  f.push_back(field<uint32_t>("sync_period_ms", true, [](C& c) -> uint32_t& { return c.sync_period_ms; },
                              at_least(10), ">= 10"));
  f.push_back(field<uint32_t>("dead_after_periods", true, [](C& c) -> uint32_t& { return c.dead_after_periods; },
                              at_least(1), ">= 1"));
}

/// [admission]: the algorithm, its window and the bounds on what a stream may declare.
void admission_fields(std::vector<Field>& f) {
  using C = ControllerConfig;
  f.push_back(field<std::string>("admission.algorithm", true, [](C& c) -> std::string& { return c.admission_algorithm; },
                                 [](const std::string& v) { return is_admission_name(v); },
                                 "one of lc, adga, iadga, balanced"));
  f.push_back(field<double>("admission.window_ms", true, [](C& c) -> double& { return c.admission_window_ms; },
                            in(0, 1000), "0 .. 1000"));
  f.push_back(field<std::string>("admission.k_policy", true, [](C& c) -> std::string& { return c.admission_k_policy; },
                                 [](const std::string& v) { GroupPolicy p; return parse_group_policy(v, p); },
                                 "one of capacity, even, fixed"));
  f.push_back(field<uint32_t>("admission.group_k", true, [](C& c) -> uint32_t& { return c.admission_group_k; },
                              any<uint32_t>(), ""));
  f.push_back(field<double>("admission.memory_units", true, [](C& c) -> double& { return c.admission_memory_units; },
                            in(0, 1000), "0 .. 1000"));
  f.push_back(field<int64_t>("admission.warmup_ms", true, [](C& c) -> int64_t& { return c.admission_warmup_ms; },
                             [](const int64_t& v) { return v >= -1; }, ">= -1 (-1: one sync period + 100 ms)"));
  f.push_back(field<uint32_t>("admission.max_unit_bytes", true, [](C& c) -> uint32_t& { return c.admission_max_unit_bytes; },
                              [](const uint32_t& v) { return v >= 1 && v <= (1u << 30); }, "1 .. 1073741824"));
  f.push_back(field<uint32_t>("admission.max_period_ms", true, [](C& c) -> uint32_t& { return c.admission_max_period_ms; },
                              [](const uint32_t& v) { return v >= 1 && v <= 86'400'000; }, "1 .. 86400000"));
  f.push_back(field<uint32_t>("admission.max_streams_per_device", true,
                              [](C& c) -> uint32_t& { return c.admission_max_streams_per_device; },
                              [](const uint32_t& v) { return v >= 1 && v <= 65536; }, "1 .. 65536"));
  f.push_back(field<uint32_t>("admission.max_streams_per_port", true,
                              [](C& c) -> uint32_t& { return c.admission_max_streams_per_port; },
                              [](const uint32_t& v) { return v >= 1 && v <= 4096; }, "1 .. 4096 (the egress table)"));
}

/// [load]: smoothing, weights and forecast of the load model.
void load_fields(std::vector<Field>& f) {
  using C = ControllerConfig;
  f.push_back(field<double>("load.bandwidth_smoothing", true, [](C& c) -> double& { return c.load.bandwidth_smoothing; },
                            in(1e-9, 1), "in (0, 1]"));
  f.push_back(field<double>("load.memory_smoothing", true, [](C& c) -> double& { return c.load.memory_smoothing; },
                            in(1e-9, 1), "in (0, 1]"));
  f.push_back(field<double>("load.cpu_smoothing", true, [](C& c) -> double& { return c.load.cpu_smoothing; },
                            in(1e-9, 1), "in (0, 1]"));
  f.push_back(field<double>("load.utilization_cap", true, [](C& c) -> double& { return c.load.utilization_cap; },
                            in(1e-9, 1), "in (0, 1]"));
  f.push_back(field<double>("load.weight_cpu", true, [](C& c) -> double& { return c.load.weight_cpu; }, in(0, 1),
                            "0 .. 1"));
  f.push_back(field<double>("load.weight_memory", true, [](C& c) -> double& { return c.load.weight_memory; },
                            in(0, 1), "0 .. 1"));
  f.push_back(field<double>("load.weight_net", true, [](C& c) -> double& { return c.load.weight_net; }, in(0, 1),
                            "0 .. 1"));
  f.push_back(field<double>("load.forecast_alpha", true, [](C& c) -> double& { return c.load.forecast_alpha; },
                            open_unit(), "in (0, 1)"));
  f.push_back(field<double>("load.forecast_horizon", true, [](C& c) -> double& { return c.load.forecast_horizon; },
                            in(0, 100), "0 .. 100 periods"));
}

/// [migration]: the LSD trigger and how migrations run.
void migration_fields(std::vector<Field>& f) {
  using C = ControllerConfig;
  f.push_back(field<bool>("migration.enabled", true, [](C& c) -> bool& { return c.migration_enabled; }, any<bool>(), ""));
  f.push_back(field<double>("migration.theta", true, [](C& c) -> double& { return c.trigger.theta; }, in(0, 1),
                            "0 .. 1"));
  f.push_back(field<double>("migration.lower_threshold", true, [](C& c) -> double& { return c.trigger.lower; },
                            in(0, 1), "0 .. 1"));
  f.push_back(field<uint32_t>("migration.consecutive_periods", true,
                              [](C& c) -> uint32_t& { return c.trigger.consecutive; }, at_least(1), ">= 1"));
  f.push_back(field<int64_t>("migration.cooldown_ms", true, [](C& c) -> int64_t& { return c.migration_cooldown_ms; },
                             [](const int64_t& v) { return v >= 0; }, ">= 0"));
  f.push_back(field<uint32_t>("migration.max_moves_per_round", true,
                              [](C& c) -> uint32_t& { return c.migration_max_moves; }, any<uint32_t>(), ""));
  f.push_back(field<uint32_t>("migration.settle_periods", true,
                              [](C& c) -> uint32_t& { return c.migration_settle_periods; }, any<uint32_t>(), ""));
  f.push_back(field<uint32_t>("migration.switch_margin_units", true,
                              [](C& c) -> uint32_t& { return c.migration_switch_margin; }, at_least(1), ">= 1"));
  f.push_back(field<int64_t>("migration.retry_ms", true, [](C& c) -> int64_t& { return c.migration_retry_ms; },
                             [](const int64_t& v) { return v >= 1; }, ">= 1"));
  f.push_back(field<uint32_t>("migration.retries", true, [](C& c) -> uint32_t& { return c.migration_retries; },
                              any<uint32_t>(), ""));
}

/// [gpu]: GPU steering.
void gpu_fields(std::vector<Field>& f) {
  using C = ControllerConfig;
  f.push_back(field<double>("gpu.overload", true, [](C& c) -> double& { return c.gpu.overload; }, in(0, 10), "0 .. 10"));
  f.push_back(field<double>("gpu.rebalance_spread", true, [](C& c) -> double& { return c.gpu.spread; }, in(0, 10),
                            "0 .. 10"));
  f.push_back(field<uint32_t>("gpu.max_moves", true, [](C& c) -> uint32_t& { return c.gpu.max_moves; },
                              any<uint32_t>(), ""));
}

/// Every key, top level first; `config keys` lists the live ones in this order.
const std::vector<Field>& fields() {
  static const std::vector<Field> all = [] {
    std::vector<Field> f;
    top_level_fields(f);
    admission_fields(f);
    load_fields(f);
    migration_fields(f);
    gpu_fields(f);
    return f;
  }();
  return all;
}

const Field* find_field(const std::string& key) {
  for (const auto& f : fields())
    if (f.key == key) return &f;
  return nullptr;
}

bool known_role(const std::string& r) { return r == "gateway" || r == "device" || r == "gpu" || r == "controller"; }

bool parse_keys(const toml::table& root, ControllerConfig& cfg, std::string& error) {
  const toml::array* arr = root["keys"].as_array();
  if (arr == nullptr) return true;
  cfg.keys.clear();
  for (const toml::node& n : *arr) {
    const toml::table* t = n.as_table();
    KeyConfig k;
    ControlKey bin;
    auto id = t ? (*t)["id"].value<int64_t>() : std::nullopt;
    auto hex = t ? (*t)["hex"].value<std::string>() : std::nullopt;
    if (!id || *id < 0 || *id > 0xFFFFFFFF || !hex || !KeyRing::parse_hex(*hex, bin)) {
      error = "keys: each entry needs id (u32) and hex (64 hex digits)";
      return false;
    }
    k.id = static_cast<uint32_t>(*id);
    for (const KeyConfig& earlier : cfg.keys)
      if (earlier.id == k.id) {
        error = "keys: id " + std::to_string(k.id) + " appears twice";
        return false;
      }
    k.hex = *hex;
    if (const toml::array* roles = (*t)["roles"].as_array()) {
      for (const toml::node& r : *roles) {
        auto s = r.value<std::string>();
        if (!s || !known_role(*s)) {
          error = "keys.roles: one of gateway, device, gpu, controller";
          return false;
        }
        k.roles.push_back(*s);
      }
    }
    cfg.keys.push_back(std::move(k));
  }
  return true;
}

/// The first key of the file that no setting reads: a typo must not be ignored.
bool check_unknown_keys(const toml::table& root, std::string& error) {
  for (const auto& [k, v] : root) {
    const std::string key(k.str());
    if (key == "keys" || key == "drained_gateways" || find_field(key)) continue;
    const toml::table* section = v.as_table();
    if (section == nullptr) {
      error = "unknown key " + key;
      return false;
    }
    for (const auto& [k2, v2] : *section)
      if (!find_field(key + "." + std::string(k2.str()))) {
        error = "unknown key " + key + "." + std::string(k2.str());
        return false;
      }
  }
  return true;
}

bool parse_drained(const toml::table& root, ControllerConfig& cfg, std::string& error) {
  const toml::array* arr = root["drained_gateways"].as_array();
  if (arr == nullptr) return true;
  cfg.drained_gateways.clear();
  for (const toml::node& n : *arr) {
    auto id = n.value<int64_t>();
    if (!id || *id < 1 || *id > 0xFFFFFF) {
      error = "drained_gateways: gateway ids 1 .. 16777215";
      return false;
    }
    cfg.drained_gateways.push_back(static_cast<uint32_t>(*id));
  }
  return true;
}

}  // namespace

bool validate_config(const ControllerConfig& c, std::string& error) {
  if (c.trigger.lower > c.trigger.theta) {
    error = "migration.lower_threshold must not exceed migration.theta";
    return false;
  }
  if (c.load.weight_cpu + c.load.weight_memory + c.load.weight_net <= 0) {
    error = "load weights must not all be 0";
    return false;
  }
  return true;
}

bool parse_config(const std::string& text, ControllerConfig& cfg, std::string& error) {
  ControllerConfig next = cfg;
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "line " << e.source().begin.line << ": " << e.description();
    error = os.str();
    return false;
  }
  if (!check_unknown_keys(root, error)) return false;
  for (const auto& f : fields()) {
    toml::node_view n = root.at_path(f.key);
    if (!n) continue;
    if (!f.set_toml(next, *n.node(), error)) return false;
  }
  if (!parse_keys(root, next, error) || !parse_drained(root, next, error) || !validate_config(next, error))
    return false;
  cfg = std::move(next);
  return true;
}

bool load_config(const std::string& path, ControllerConfig& cfg, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot read " + path;
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (!parse_config(ss.str(), cfg, error)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}

std::string render_config(const ControllerConfig& cfg) {
  toml::table root;
  for (const auto& f : fields()) f.put(cfg, root, f.key);
  toml::array keys;
  for (const auto& k : cfg.keys) {
    toml::array roles;
    for (const auto& r : k.roles) roles.push_back(r);
    keys.push_back(toml::table{{"id", int64_t(k.id)}, {"hex", k.hex}, {"roles", roles}});
  }
  if (!keys.empty()) root.insert("keys", keys);
  toml::array drained;
  for (uint32_t id : cfg.drained_gateways) drained.push_back(int64_t(id));
  root.insert("drained_gateways", drained);
  std::ostringstream os;
  os << "# aigw-controller configuration (docs/controller.md). `aigwctl config set` rewrites this file.\n";
  os << root << "\n";
  return os.str();
}

bool save_config(const std::string& path, const ControllerConfig& cfg, std::string& error) {
  // The file holds the cluster's keys: owner-only from its first byte (no umask race),
  // written whole and fsync-ed before it replaces the old one.
  const std::string tmp = path + ".tmp";
  const std::string text = render_config(cfg);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot write " + tmp + ": " + std::strerror(errno);
    return false;
  }
  bool written = ::fchmod(fd, 0600) == 0;
  for (size_t off = 0; written && off < text.size();) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    written = n > 0;
    if (written) off += static_cast<size_t>(n);
  }
  written = written && ::fsync(fd) == 0;
  const int write_errno = errno;
  ::close(fd);
  if (!written) {
    error = "cannot write " + tmp + ": " + std::strerror(write_errno);
    ::unlink(tmp.c_str());
    return false;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

const std::vector<std::string>& settable_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& f : fields())
      if (f.live) k.push_back(f.key);
    return k;
  }();
  return keys;
}

bool config_get(const ControllerConfig& cfg, const std::string& key, Json& out) {
  if (key.empty()) {
    out = Json::object();
    for (const auto& f : fields()) out[f.key] = f.get(cfg);
    return true;
  }
  const Field* f = find_field(key);
  if (f == nullptr) return false;
  out = f->get(cfg);
  return true;
}

bool config_set(ControllerConfig& cfg, const std::string& key, const std::string& value, std::string& error) {
  const Field* f = find_field(key);
  if (f == nullptr) {
    error = "unknown key " + key;
    return false;
  }
  if (!f->live) {
    error = key + " is read at start only; edit the file and restart";
    return false;
  }
  ControllerConfig next = cfg;
  if (!f->set_text(next, value, error) || !validate_config(next, error)) return false;
  cfg = std::move(next);
  return true;
}

}  // namespace aigw::controller
