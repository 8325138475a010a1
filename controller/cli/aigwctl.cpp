// aigwctl: the operator CLI of aigw-controller, over its local unix socket.
// Verb-object grammar; --json on every read; --dry-run on every change; sysexits codes.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "controller/core/config.h"
#include "controller/core/ctl_commands.h"
#include "controller/cli/key_commands.h"

using Json = nlohmann::json;
using namespace aigw::controller;

namespace {

/// Sends one request line and reads the one-line answer; false when unreachable.
bool call(const std::string& path, const Json& req, Json& resp, std::string& error) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (fd < 0 || path.size() >= sizeof(addr.sun_path)) {
    error = "bad socket path " + path;
    if (fd >= 0) close(fd);
    return false;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    error = "cannot connect to " + path + ": " + std::strerror(errno);
    close(fd);
    return false;
  }
  const std::string line = req.dump() + "\n";
  size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = write(fd, line.data() + off, line.size() - off);
    if (n <= 0) {
      error = std::string("write: ") + std::strerror(errno);
      close(fd);
      return false;
    }
    off += static_cast<size_t>(n);
  }
  std::string in;
  char buf[65536];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  resp = Json::parse(in, nullptr, false);
  if (resp.is_discarded() || !resp.is_object()) {
    error = in.empty() ? "no answer from the controller" : "malformed answer from the controller";
    return false;
  }
  return true;
}

std::string cell(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return fmt::format("{:.3f}", v.get<double>());
  if (v.is_null()) return "-";
  return v.dump();
}

/// A fixed-column table of the chosen fields of an array of objects.
void print_table(const Json& rows, const std::vector<std::pair<std::string, std::string>>& cols) {
  std::vector<size_t> width;
  for (const auto& c : cols) width.push_back(c.second.size());
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : rows) {
    std::vector<std::string> line;
    for (size_t i = 0; i < cols.size(); ++i) {
      line.push_back(r.contains(cols[i].first) ? cell(r[cols[i].first]) : "-");
      width[i] = std::max(width[i], line.back().size());
    }
    cells.push_back(std::move(line));
  }
  for (size_t i = 0; i < cols.size(); ++i) fmt::print("{:<{}}  ", cols[i].second, width[i]);
  fmt::print("\n");
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) fmt::print("{:<{}}  ", line[i], width[i]);
    fmt::print("\n");
  }
}

/// One request; 0 with its result, or the exit code after saying why on stderr.
int request(const std::string& socket_path, const Json& req, Json& result) {
  Json resp;
  std::string error;
  if (!call(socket_path, req, resp, error)) {
    fmt::print(stderr, "aigwctl: {}\n", error);
    return kExitUnavailable;
  }
  if (!resp.value("ok", false)) {
    fmt::print(stderr, "aigwctl: {}\n", resp.value("error", std::string("failed")));
    const int code = resp.value("exit", int(kExitSoftware));
    return code == 0 ? kExitSoftware : code;
  }
  result = std::move(resp["result"]);
  return 0;
}

/// A paged listing followed through its `next` cursors to the end, as one page with
/// every stream and no `next`.
int request_all_pages(const std::string& socket_path, Json req, Json& result) {
  Json page;
  result = {{"streams", Json::array()}, {"next", nullptr}, {"total", 0}};
  for (;;) {
    if (const int rc = request(socket_path, req, page); rc != 0) return rc;
    if (!page.is_object() || !page.contains("streams") || !page["streams"].is_array()) {
      fmt::print(stderr, "aigwctl: malformed page from the controller\n");
      return kExitSoftware;
    }
    for (auto& s : page["streams"]) result["streams"].push_back(std::move(s));
    result["total"] = page.value("total", Json());
    const Json& next = page["next"];
    if (next.is_null()) return 0;
    if (!next.is_number_unsigned() || (req.contains("after") && next.get<uint64_t>() <= req["after"].get<uint64_t>())) {
      fmt::print(stderr, "aigwctl: the controller's next cursor does not advance\n");
      return kExitSoftware;
    }
    req["after"] = next;
  }
}

void print_human(const std::string& cmd, const Json& result) {
  if (cmd == "gateways") {
    print_table(result, {{"id", "ID"}, {"alive", "ALIVE"}, {"draining", "DRAINING"}, {"load", "LOAD"},
                         {"forecast", "FORECAST"}, {"streams", "STREAMS"}, {"control", "CONTROL"}});
  } else if (cmd == "streams") {
    print_table(result["streams"], {{"id", "ID"}, {"device", "DEVICE"}, {"gateway", "GATEWAY"}, {"gpu", "GPU"},
                         {"model", "MODEL"}, {"last_unit_seq", "LAST_SEQ"}, {"units_delivered", "DELIVERED"},
                         {"units_lost", "LOST"}, {"units_lost_failover", "FAILOVER_LOST"},
                         {"migrating_to", "MIGRATING_TO"}});
    fmt::print("{} of {} streams", result["streams"].size(), cell(result["total"]));
    if (!result["next"].is_null()) fmt::print("; next page: --after {}", cell(result["next"]));
    fmt::print("\n");
  } else if (cmd == "gpus") {
    print_table(result, {{"id", "ID"}, {"address", "ADDRESS"}, {"port", "PORT"}, {"models", "MODELS"},
                         {"load", "LOAD"}, {"streams", "STREAMS"}});
  } else if (cmd == "migrations") {
    print_table(result, {{"id", "ID"}, {"stream", "STREAM"}, {"from", "FROM"}, {"to", "TO"}, {"phase", "PHASE"},
                         {"switch_unit_seq", "SWITCH_SEQ"}, {"reason", "REASON"}});
  } else if (result.is_object()) {
    for (const auto& [k, v] : result.items()) fmt::print("{} = {}\n", k, cell(v));
  } else {
    fmt::print("{}\n", cell(result));
  }
}

/// What the command line asks for, filled in by CLI11 as it parses.
struct Invocation {
  std::string socket_path;
  bool json = false;
  bool dry_run = false;
  Json req;  // the request to the controller; req["cmd"] also names the local commands
  std::string key, value;
  uint32_t gateway = 0, stream = 0;
  uint32_t limit = 0, after = 0;
  bool all = false;     // follow the stream listing's pages to the end
  std::string ids_of;   // `ids`: print only the ids of these
  KeyDeriveRequest derive;
};

void add_reads(CLI::App& app, Invocation& in) {
  for (const char* verb : {"status", "gateways", "gpus", "migrations"})
    app.add_subcommand(verb, fmt::format("show {}", verb))->callback([&in, verb] { in.req["cmd"] = verb; });
  // Streams come a page at a time: the controller renders one page per request, so
  // even --all never blocks it for the whole table at once.
  CLI::App* streams = app.add_subcommand("streams", "show streams, one page (in stream id order)");
  streams->add_option("--limit", in.limit, fmt::format("streams per page (default {})", kDefaultStreamPageLimit))
      ->check(CLI::Range(1u, kMaxStreamPageLimit));
  streams->add_option("--after", in.after, "start after this stream id (the `next` of the previous page)");
  streams->add_option("--gateway", in.gateway, "only the streams homed on this gateway");
  streams->add_flag("--all", in.all, "every page to the end, one request per page");
  streams->callback([&in, streams] {
    in.req["cmd"] = "streams";
    if (in.limit != 0) in.req["limit"] = in.limit;
    if (in.after != 0) in.req["after"] = in.after;
    if (streams->count("--gateway") != 0) in.req["gateway"] = in.gateway;
  });
}

void add_config(CLI::App& app, Invocation& in) {
  CLI::App* config = app.add_subcommand("config", "read or change the configuration");
  config->require_subcommand(1);
  config->fallthrough();
  config->add_subcommand("get", "show one key, or all")
      ->callback([&in] { in.req = {{"cmd", "config_get"}, {"key", in.key}}; })
      ->add_option("key", in.key, "dotted key, e.g. migration.theta");
  CLI::App* set = config->add_subcommand("set", "change a key live and persist it");
  set->add_option("key", in.key, "dotted key")->required();
  set->add_option("value", in.value, "new value")->required();
  set->add_flag("--dry-run", in.dry_run, "check and show, change nothing");
  set->callback([&in] { in.req = {{"cmd", "config_set"}, {"key", in.key}, {"value", in.value}}; });
  config->add_subcommand("keys", "list the keys `config set` accepts (local)")->callback([&in] {
    in.req["cmd"] = "keys";
  });
}

void add_changes(CLI::App& app, Invocation& in) {
  for (const char* verb : {"drain", "undrain"}) {
    CLI::App* d = app.add_subcommand(verb, std::string(verb) + " a gateway");
    d->add_option("gateway", in.gateway, "gateway id")->required();
    d->add_flag("--dry-run", in.dry_run, "check and show, change nothing");
    d->callback([&in, verb] { in.req = {{"cmd", verb}, {"gateway", in.gateway}}; });
  }
  CLI::App* mig = app.add_subcommand("migrate", "move a stream to a gateway (make-before-break)");
  mig->add_option("stream", in.stream, "stream id")->required();
  mig->add_option("gateway", in.gateway, "target gateway id")->required();
  mig->add_flag("--dry-run", in.dry_run, "check and show, change nothing");
  mig->callback([&in] { in.req = {{"cmd", "migrate"}, {"stream", in.stream}, {"gateway", in.gateway}}; });
}

/// Provisioning, local: needs read access to the controller's configuration (0600).
void add_key_commands(CLI::App& app, Invocation& in) {
  in.derive.config_path = "/etc/aigw/controller.toml";
  CLI::App* keycmd = app.add_subcommand("key", "provision node keys (local, on the controller's host)");
  keycmd->require_subcommand(1);
  keycmd->fallthrough();
  CLI::App* kd = keycmd->add_subcommand("derive", "print the key one node must hold");
  kd->add_option("--config", in.derive.config_path, "the controller's configuration (its [[keys]] hold the masters)");
  kd->add_option("--role", in.derive.role, "gateway, device or gpu")->required();
  kd->add_option("--node", in.derive.node, "the node's id")->required();
  kd->add_option("--key-id", in.derive.key_id, "master key generation (default: controller_key_id)");
  kd->callback([&in] { in.req["cmd"] = "key_derive"; });
  keycmd->add_subcommand("generate", "print a new random master key")->callback([&in] {
    in.req["cmd"] = "key_generate";
  });
}

/// `ids`, hidden: what bash completion offers.
void add_ids(CLI::App& app, Invocation& in) {
  CLI::App* ids = app.add_subcommand("ids", "ids of gateways or streams, one per line (for completion)");
  ids->group("");
  ids->add_option("what", in.ids_of)->required()->check(CLI::IsMember({"gateways", "streams"}));
  ids->callback([&in] {
    in.req["cmd"] = in.ids_of;
    in.all = in.ids_of == "streams";
  });
}

/// The commands answered without the controller; nullopt for the others.
std::optional<int> run_local(const std::string& cmd, const Invocation& in) {
  if (cmd == "keys") {
    for (const auto& k : settable_keys()) fmt::print("{}\n", k);
    return kExitOk;
  }
  if (cmd == "key_generate") {
    const std::string hex = generate_master_key();
    if (in.json) fmt::print("{}\n", Json{{"key", hex}}.dump(2));
    else fmt::print("{}\n", hex);
    return kExitOk;
  }
  if (cmd == "key_derive") {
    Json out;
    std::string error;
    if (const int rc = derive_key(in.derive, out, error); rc != kExitOk) {
      fmt::print(stderr, "aigwctl: {}\n", error);
      return rc;
    }
    // Without --json: the lines to paste into the node's configuration.
    if (in.json) fmt::print("{}\n", out.dump(2));
    else fmt::print("key_id = {}\nkey = \"{}\"\n", out["key_id"].get<uint32_t>(), out["key"].get<std::string>());
    return kExitOk;
  }
  return std::nullopt;
}

/// One request (or every page of one) to the controller, and its answer printed.
int run_remote(const std::string& cmd, Invocation& in) {
  if (in.dry_run) in.req["dry_run"] = true;
  Json result;
  const int rc = in.all ? request_all_pages(in.socket_path, in.req, result) : request(in.socket_path, in.req, result);
  if (rc != 0) return rc;
  if (!in.ids_of.empty()) {
    for (const auto& r : cmd == "streams" ? result["streams"] : result) fmt::print("{}\n", r["id"].dump());
    return kExitOk;
  }
  if (in.json) fmt::print("{}\n", result.dump(2));
  else print_human(cmd, result);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aigwctl: operate aigw-controller"};
  app.require_subcommand(1);
  app.fallthrough();  // `aigwctl gateways --json` as well as `aigwctl --json gateways`
  Invocation in;
  const char* env = std::getenv("AIGW_CONTROL_SOCKET");
  in.socket_path = env ? env : "/run/aigw/controller.sock";
  app.add_option("-s,--socket", in.socket_path, "controller unix socket (env AIGW_CONTROL_SOCKET)");
  app.add_flag("--json", in.json, "print the answer as JSON");
  add_reads(app, in);
  add_config(app, in);
  add_changes(app, in);
  add_key_commands(app, in);
  add_ids(app, in);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  const std::string cmd = in.req.value("cmd", std::string());
  if (const std::optional<int> rc = run_local(cmd, in)) return *rc;
  return run_remote(cmd, in);
}
