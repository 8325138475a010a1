#include "gateway/node/config.h"

#include <sys/stat.h>

#include <toml++/toml.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "protocol/log.h"

namespace aigw {

namespace {

constexpr int64_t kMs = 1'000'000;
// Upper bounds that keep every converted value far from overflow; no real setting is near.
constexpr double kMaxMs = 86'400'000;    // a day
constexpr double kMaxMiB = 1 << 20;      // 1 TiB
constexpr double kMaxCapacityBps = 1e13; // 10 Tbit/s

/// Reads typed keys from one table and remembers which keys exist, so unknown keys
/// (typos) are reported instead of silently ignored.
class Table {
 public:
  Table(const toml::table* t, std::string name, std::string& error) : t_(t), name_(std::move(name)), error_(error) {}

  template <typename T>
  void get(const char* key, T& out) {
    known_.insert(key);
    if (t_ == nullptr || !error_.empty()) return;
    const toml::node* n = t_->get(key);
    if (n == nullptr) return;
    if constexpr (std::is_same_v<T, std::string>) {
      auto v = n->value<std::string>();
      if (!v) return fail(key, "a string");
      out = *v;
    } else if constexpr (std::is_same_v<T, bool>) {
      auto v = n->value<bool>();
      if (!v) return fail(key, "a boolean");
      out = *v;
    } else if constexpr (std::is_floating_point_v<T>) {
      auto v = n->value<double>();
      // NaN and infinity would pass every range check below and then be cast to integers.
      if (!v || !std::isfinite(*v)) return fail(key, "a finite number");
      out = static_cast<T>(*v);
    } else {
      auto v = n->value<int64_t>();
      if (!v || *v < 0 || static_cast<uint64_t>(*v) > static_cast<uint64_t>(std::numeric_limits<T>::max()))
        return fail(key, "a non-negative integer in range");
      out = static_cast<T>(*v);
    }
  }
  /// Milliseconds (fractions allowed) into nanoseconds.
  void ms(const char* key, int64_t& out_ns) {
    double v = static_cast<double>(out_ns) / kMs;
    get(key, v);
    if (v < 0 || v > kMaxMs) return fail(key, "a duration in 0..86400000 ms (a day)");
    out_ns = static_cast<int64_t>(v * kMs);
  }
  /// Mebibytes into bytes.
  template <typename T>
  void mb(const char* key, T& out_bytes) {
    double v = static_cast<double>(out_bytes) / (1 << 20);
    get(key, v);
    if (v < 0 || v > kMaxMiB) return fail(key, "a size in 0..1048576 MiB (1 TiB)");
    out_bytes = static_cast<T>(v * (1 << 20));
  }
  void endpoint(const char* key, Ipv4Endpoint& out) {
    std::string s;
    get(key, s);
    if (!s.empty() && !parse_ipv4_endpoint(s, out)) fail(key, "\"a.b.c.d:port\"");
  }
  void strings(const char* key, std::vector<std::string>& out) {
    known_.insert(key);
    if (t_ == nullptr || !error_.empty()) return;
    const toml::node* n = t_->get(key);
    if (n == nullptr) return;
    const toml::array* a = n->as_array();
    if (a == nullptr) return fail(key, "an array of strings");
    out.clear();
    for (const auto& e : *a) {
      auto v = e.value<std::string>();
      if (!v) return fail(key, "an array of strings");
      out.push_back(*v);
    }
  }
  void fail(const char* key, const char* what) {
    if (error_.empty()) error_ = name_ + "." + key + " must be " + what;
  }
  /// Reports the first key not read by get().
  void check_unknown() {
    if (t_ == nullptr || !error_.empty()) return;
    for (const auto& [k, v] : *t_)
      if (!known_.count(std::string(k.str()))) {
        error_ = "unknown key " + name_ + "." + std::string(k.str());
        return;
      }
  }

 private:
  const toml::table* t_;
  std::string name_;
  std::string& error_;
  std::set<std::string> known_;
};

bool parse_checksum(const std::string& s, ChecksumPolicy& out) {
  if (s == "auto") out = ChecksumPolicy::automatic;
  else if (s == "software") out = ChecksumPolicy::software;
  else if (s == "none") out = ChecksumPolicy::none;
  else return false;
  return true;
}

/// The key file's hex; false with `why` when unreadable or readable by others.
bool read_key_file(const std::string& path, std::string& hex, std::string& why) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    why = "cannot read " + path;
    return false;
  }
  if ((st.st_mode & 077) != 0) {
    why = fmt::format("{} is mode {:04o}: others can read this node's key (chmod 600)", path, st.st_mode & 07777);
    return false;
  }
  std::ifstream f(path);
  if (!f) {
    why = "cannot read " + path;
    return false;
  }
  f >> hex;
  return true;
}

/// Calls `each(table, index)` for every table of the array of tables `[[key]]`, until
/// `error` is set; an absent key is no tables, anything else than tables an error.
template <typename Each>
void for_each_table(const toml::table& root, const std::string& key, std::string& error, Each&& each) {
  const toml::node* n = root.get(key);
  if (n == nullptr) return;
  const toml::array* a = n->as_array();
  for (size_t i = 0; a != nullptr && i < a->size() && error.empty(); ++i) {
    const toml::table* t = a->get(i)->as_table();
    if (t == nullptr) {
      a = nullptr;
      break;
    }
    each(*t, i);
  }
  if (a == nullptr) error = key + " must be an array of tables ([[" + key + "]])";
}

void parse_ports(const toml::table& root, GatewayConfig& c, std::string& error) {
  if (root.contains("port")) c.ports.clear();
  for_each_table(root, "port", error, [&](const toml::table& t, size_t i) {
    PortConfig p;
    p.dpdk_port_id = static_cast<uint16_t>(i);
    Table pt(&t, "port[" + std::to_string(i) + "]", error);
    pt.get("address", p.address);
    pt.get("port", p.port);
    double gbps = p.capacity_bps / 1e9;
    pt.get("capacity_gbps", gbps);
    p.capacity_bps = gbps * 1e9;
    pt.mb("memory_budget_mb", p.memory_budget_bytes);
    pt.get("dpdk_port_id", p.dpdk_port_id);
    std::string cs = "auto";
    pt.get("checksum", cs);
    if (!parse_checksum(cs, p.checksum)) pt.fail("checksum", "\"auto\", \"software\" or \"none\"");
    int64_t prefix_len = -1;
    pt.get("prefix_len", prefix_len);
    if (prefix_len > 32) pt.fail("prefix_len", "in 0..32");
    p.prefix_len = static_cast<int>(prefix_len);
    pt.get("rx_queues", p.rx_queues);
    if (!parse_ipv4(p.address, p.ip)) pt.fail("address", "a dotted-quad IPv4 address");
    pt.check_unknown();
    c.ports.push_back(p);
  });
}

/// "a.b.c.d/n" into an address and a prefix length.
bool parse_prefix(const std::string& text, uint32_t& ip, int& len) {
  const size_t slash = text.find('/');
  if (slash == std::string::npos || !parse_ipv4(text.substr(0, slash), ip)) return false;
  const std::string bits = text.substr(slash + 1);
  if (bits.empty() || bits.size() > 2 || bits.find_first_not_of("0123456789") != std::string::npos) return false;
  len = std::stoi(bits);
  return len <= 32;
}

void parse_routes(const toml::table& root, GatewayConfig& c, std::string& error) {
  for_each_table(root, "route", error, [&](const toml::table& t, size_t i) {
    RouteConfig r;
    Table rt(&t, "route[" + std::to_string(i) + "]", error);
    std::string prefix, via;
    rt.get("prefix", prefix);
    rt.get("port", r.port_index);
    rt.get("via", via);
    rt.check_unknown();
    if (!error.empty()) return;
    if (!parse_prefix(prefix, r.prefix, r.prefix_len)) return rt.fail("prefix", "\"a.b.c.d/len\"");
    if (!via.empty() && !parse_ipv4(via, r.via)) return rt.fail("via", "a dotted-quad IPv4 address");
    c.routes.push_back(r);
  });
}

void parse_streams(const toml::table& root, GatewayConfig& c, std::string& error) {
  for_each_table(root, "stream", error, [&](const toml::table& t, size_t i) {
    StreamRoute r;
    Table st(&t, "stream[" + std::to_string(i) + "]", error);
    st.get("id", r.stream_id);
    st.get("port", r.data_port);
    st.endpoint("source", r.source);
    st.endpoint("device_control", r.device_control);
    st.endpoint("gpu", r.gpu);
    st.get("gpu_id", r.gpu_id);
    st.get("first_unit_seq", r.first_unit_seq);
    st.get("bandwidth_bps", r.bandwidth_bps);
    st.get("memory_bytes", r.memory_bytes);
    st.check_unknown();
    if (error.empty() && r.stream_id == 0) st.fail("id", "a stream id > 0");
    c.static_streams.push_back(r);
  });
}

/// The text as TOML; false with the syntax error and its line.
bool parse_toml(const std::string& text, toml::table& root, std::string& error) {
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "TOML syntax: " << e.description() << " at line " << e.source().begin.line;
    error = os.str();
    return false;
  }
  return true;
}

/// False with the first top-level key that is no section of the reference.
bool known_sections(const toml::table& root, std::string& error) {
  static const std::set<std::string> sections{"gateway", "control", "egress", "receiver", "load", "metrics",
                                              "socket", "dpdk", "port", "stream", "route"};
  for (const auto& [k, v] : root) {
    if (!sections.count(std::string(k.str()))) {
      error = "unknown section " + std::string(k.str());
      return false;
    }
  }
  return true;
}

void parse_gateway(const toml::table& root, GatewayConfig& c, std::string& error) {
  Table g(root["gateway"].as_table(), "gateway", error);
  g.get("id", c.gateway_id);
  g.get("log_level", c.log_level);
  g.get("backend", c.backend);
  g.get("max_streams", c.max_streams);
  g.check_unknown();
}

void parse_control(const toml::table& root, GatewayConfig& c, std::string& error) {
  Table ctl(root["control"].as_table(), "control", error);
  ctl.endpoint("bind", c.control_bind);
  ctl.endpoint("controller", c.controller);
  ctl.get("key_id", c.key_id);
  std::string key_hex, key_file;
  ctl.get("key", key_hex);
  ctl.get("key_file", key_file);
  ctl.ms("sync_period_ms", c.sync_period_ns);
  ctl.check_unknown();
  if (std::string why; error.empty() && !key_file.empty() && !read_key_file(key_file, key_hex, why))
    error = "control.key_file: " + why;
  if (error.empty() && !key_hex.empty()) {
    if (!KeyRing::parse_hex(key_hex, c.key)) error = "control.key must be 64 hex digits";
    c.have_key = true;
  }
}

void parse_egress(const toml::table& root, GatewayConfig& c, std::string& error) {
  Table eg(root["egress"].as_table(), "egress", error);
  eg.endpoint("bind", c.egress_bind);
  eg.get("max_payload", c.egress.max_payload);
  eg.get("store_units", c.egress.store_units);
  eg.ms("store_ttl_ms", c.egress.store_ttl_ns);
  eg.mb("store_budget_mb", c.egress.store_budget_bytes);
  double pace_mbps = c.egress.pace_bytes_per_s * 8 / 1e6;
  eg.get("pace_mbps", pace_mbps);
  c.egress.pace_bytes_per_s = pace_mbps * 1e6 / 8;
  eg.get("burst_bytes", c.egress.burst_bytes);
  eg.ms("probe_ms", c.egress.probe_timeout_ns);
  eg.get("max_probes", c.egress.max_probes);
  eg.check_unknown();
}

void parse_receiver(const toml::table& root, GatewayConfig& c, std::string& error) {
  Table rc(root["receiver"].as_table(), "receiver", error);
  rc.get("max_unit_bytes", c.receiver.max_unit_bytes);
  rc.get("max_units_in_flight", c.receiver.max_units_in_flight);
  rc.ms("reorder_tolerance_ms", c.receiver.reorder_tolerance_ns);
  rc.ms("idle_nack_ms", c.receiver.idle_nack_ns);
  rc.ms("renack_interval_ms", c.receiver.renack_interval_ns);
  rc.get("max_nack_rounds", c.receiver.max_nack_rounds);
  rc.ms("unit_deadline_ms", c.receiver.unit_deadline_ns);
  rc.get("nack_max_bytes", c.receiver.nack_max_bytes);
  rc.get("recent_units_window", c.receiver.recent_units_window);
  rc.ms("release_timeout_ms", c.release_timeout_ns);
  rc.check_unknown();
}

void parse_load(const toml::table& root, GatewayConfig& c, std::string& error) {
  Table ld(root["load"].as_table(), "load", error);
  ld.get("smoothing", c.load.smoothing);
  ld.get("weight_cpu", c.load.weight_cpu);
  ld.get("weight_memory", c.load.weight_memory);
  ld.get("weight_net", c.load.weight_net);
  ld.mb("memory_capacity_mb", c.load.memory_capacity_bytes);
  ld.check_unknown();
}

void parse_metrics(const toml::table& root, GatewayConfig& c, std::string& error) {
  Table mt(root["metrics"].as_table(), "metrics", error);
  mt.get("enabled", c.metrics_enabled);
  mt.endpoint("bind", c.metrics_bind);
  mt.check_unknown();
}

void parse_socket(const toml::table& root, GatewayConfig& c, std::string& error) {
  Table so(root["socket"].as_table(), "socket", error);
  so.get("buffer_bytes", c.socket_buffer_bytes);
  so.get("batch", c.socket_batch);
  so.get("batches_per_turn", c.socket_batches_per_turn);
  so.get("gro", c.socket_gro);
  so.get("gso", c.socket_gso);
  so.get("workers", c.socket_workers);
  so.check_unknown();
}

void parse_dpdk(const toml::table& root, GatewayConfig& c, std::string& error) {
  Table dp(root["dpdk"].as_table(), "dpdk", error);
  dp.strings("eal_args", c.eal_args);
  dp.get("burst", c.dpdk_burst);
  dp.get("mbufs", c.dpdk_mbufs);
  dp.get("rx_descriptors", c.dpdk_rx_descriptors);
  dp.get("tx_descriptors", c.dpdk_tx_descriptors);
  dp.get("egress_udp_port", c.dpdk_egress_udp_port);
  dp.get("next_hop_mac", c.dpdk_next_hop_mac);
  dp.get("egress_port", c.dpdk_egress_port);
  dp.check_unknown();
}

}  // namespace

bool parse_config(const std::string& toml_text, GatewayConfig& c, std::string& error) {
  toml::table root;
  if (!parse_toml(toml_text, root, error)) return false;
  error.clear();
  if (!known_sections(root, error)) return false;
  using SectionParser = void (*)(const toml::table&, GatewayConfig&, std::string&);
  // A Table reads no key once `error` is set, so the first error found is the one reported.
  for (SectionParser parse : {parse_gateway, parse_control, parse_egress, parse_receiver, parse_load, parse_metrics,
                              parse_socket, parse_dpdk})
    parse(root, c, error);
  for (SectionParser parse : {parse_ports, parse_streams, parse_routes})
    if (error.empty()) parse(root, c, error);
  return error.empty() && validate_config(c, error);
}

bool load_config(const std::string& path, GatewayConfig& out, std::string& error) {
  std::ifstream f(path);
  if (!f) {
    error = "cannot read " + path;
    return false;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_config(ss.str(), out, error);
}

bool validate_config(const GatewayConfig& c, std::string& error) {
  auto bad = [&](std::string msg) {
    error = std::move(msg);
    return false;
  };
  log::Level lvl;
  if (!log::parse_level(c.log_level, lvl)) return bad("gateway.log_level must be debug, info, warn, error or off");
  if (c.backend != "socket" && c.backend != "dpdk") return bad("gateway.backend must be \"socket\" or \"dpdk\"");
  if (c.gateway_id == 0) return bad("gateway.id must be > 0");
  if (c.max_streams == 0 || c.max_streams > 65536) return bad("gateway.max_streams must be in 1..65536");
  if (c.ports.empty()) return bad("at least one [[port]] is required");
  if (c.sync_period_ns < 10 * kMs) return bad("control.sync_period_ms must be >= 10");
  if (c.load.smoothing <= 0 || c.load.smoothing > 1) return bad("load.smoothing must be in (0, 1]");
  if (c.load.weight_cpu < 0 || c.load.weight_memory < 0 || c.load.weight_net < 0)
    return bad("load weights must be >= 0");
  if (c.egress.max_payload < 64 || c.egress.max_payload > 8900) return bad("egress.max_payload must be in 64..8900");
  if (c.egress.store_units == 0) return bad("egress.store_units must be >= 1");
  if (c.egress.probe_timeout_ns < 0 || c.egress.probe_timeout_ns > c.egress.store_ttl_ns)
    return bad("egress.probe_ms must be in 0..store_ttl_ms");
  if (c.receiver.nack_max_bytes < 64 || c.receiver.nack_max_bytes > 1400)
    return bad("receiver.nack_max_bytes must be in 64..1400");
  if (c.receiver.unit_deadline_ns <= 0) return bad("receiver.unit_deadline_ms must be > 0 (0 would lose every unit)");
  if (c.receiver.max_units_in_flight == 0) return bad("receiver.max_units_in_flight must be >= 1");
  if (c.socket_batch == 0 || c.socket_batch > 1024) return bad("socket.batch must be in 1..1024");
  if (c.socket_batches_per_turn == 0) return bad("socket.batches_per_turn must be >= 1");
  if (c.socket_workers == 0 || c.socket_workers > 64) return bad("socket.workers must be in 1..64");
  if (c.egress_bind.port != 0 && c.egress_bind.port + (c.socket_workers - 1) > 65535)
    return bad("egress.bind port + socket.workers - 1 must be <= 65535 (worker w binds the port + w)");
  if (c.dpdk_burst == 0 || c.dpdk_burst > 512) return bad("dpdk.burst must be in 1..512");
  if (c.dpdk_egress_port >= c.ports.size()) return bad("dpdk.egress_port must name a [[port]] (0-based index)");
  for (size_t i = 0; i < c.routes.size(); ++i)
    if (c.routes[i].port_index >= c.ports.size())
      return bad("route[" + std::to_string(i) + "].port must name a [[port]] (0-based index)");
  for (size_t i = 0; i < c.ports.size(); ++i) {
    const auto& p = c.ports[i];
    if (p.capacity_bps <= 0 || p.capacity_bps > kMaxCapacityBps)
      return bad("port[" + std::to_string(i) + "].capacity_gbps must be in (0, 10000]");
    if (p.rx_queues == 0 || p.rx_queues > 64) return bad("port[" + std::to_string(i) + "].rx_queues must be in 1..64");
    if (p.memory_budget_bytes < c.receiver.max_unit_bytes / 16)
      return bad("port[" + std::to_string(i) + "].memory_budget_mb is too small for receiver.max_unit_bytes");
    for (size_t j = 0; j < i; ++j)
      if (p.port != 0 && c.ports[j].port == p.port && c.ports[j].ip == p.ip)
        return bad("port[" + std::to_string(i) + "] duplicates port[" + std::to_string(j) + "]");
  }
  for (const auto& s : c.static_streams) {
    bool found = false;
    for (const auto& p : c.ports) found = found || p.port == s.data_port;
    if (!found) return bad("stream " + std::to_string(s.stream_id) + " names a port no [[port]] serves");
  }
  return true;
}

}  // namespace aigw

namespace aigw {

PipelineConfig make_pipeline_config(const GatewayConfig& c, const std::vector<size_t>& port_indices,
                                    const std::vector<uint16_t>& udp_ports) {
  PipelineConfig pc;
  for (size_t k = 0; k < port_indices.size(); ++k)
    pc.data_ports.push_back({udp_ports[k], c.ports[port_indices[k]].memory_budget_bytes});
  pc.receiver = c.receiver;
  pc.egress = c.egress;
  // One limit for the three stream tables, so none of them can be the one that is full.
  pc.max_streams = c.max_streams;
  pc.receiver.max_streams = static_cast<uint32_t>(c.max_streams);
  pc.egress.max_streams = static_cast<uint32_t>(c.max_streams);
  pc.release_timeout_ns = c.release_timeout_ns;
  return pc;
}

}  // namespace aigw
