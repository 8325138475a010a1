#include "controller/core/ctl_commands.h"

#include "protocol/log.h"

namespace aigw::controller {

using Json = nlohmann::json;

namespace {

Json ok(Json result) { return {{"ok", true}, {"result", std::move(result)}}; }
Json fail(int code, std::string error) { return {{"ok", false}, {"error", std::move(error)}, {"exit", code}}; }

bool get_u32(const Json& req, const char* name, uint32_t& out) {
  auto it = req.find(name);
  if (it == req.end() || !it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > UINT32_MAX)
    return false;
  out = static_cast<uint32_t>(it->get<int64_t>());
  return true;
}

Json persist_and_apply(Controller& c, const std::string& path, const ControllerConfig& next) {
  std::string error;
  if (!validate_config(next, error)) return fail(kExitConfig, error);
  if (!path.empty() && !save_config(path, next, error)) return fail(kExitIoErr, error);
  if (!c.apply_config(next, error)) return fail(kExitConfig, error);
  return Json();
}

Json config_set_cmd(Controller& c, const std::string& path, const Json& req, bool dry_run) {
  if (!req.contains("key") || !req["key"].is_string() || !req.contains("value") || !req["value"].is_string())
    return fail(kExitUsage, "config set needs a key and a value");
  const std::string key = req["key"], value = req["value"];
  ControllerConfig next = c.config();
  Json before;
  if (!config_get(next, key, before)) return fail(kExitUsage, "unknown key " + key);
  std::string error;
  if (!config_set(next, key, value, error)) return fail(kExitConfig, error);
  Json after;
  config_get(next, key, after);
  Json result{{"key", key}, {"old", before}, {"new", after}, {"dry_run", dry_run}};
  if (dry_run) return ok(result);
  Json err = persist_and_apply(c, path, next);
  if (!err.is_null()) return err;
  log::info("config_set", "key={} value={}", key, after.dump());
  return ok(result);
}

Json drain_cmd(Controller& c, const std::string& path, const Json& req, bool drain, bool dry_run) {
  uint32_t gw = 0;
  if (!get_u32(req, "gateway", gw)) return fail(kExitUsage, "drain needs a gateway id");
  if (!c.gateways().count(gw)) return fail(kExitDataErr, "unknown gateway " + std::to_string(gw));
  size_t streams = 0;
  for (const auto& [id, s] : c.streams()) streams += s.gateway_id == gw;
  Json result{{"gateway", gw}, {"draining", drain}, {"streams_to_move", drain ? streams : 0}, {"dry_run", dry_run}};
  if (dry_run) return ok(result);
  std::string error;
  if (!c.set_drain(gw, drain, error)) return fail(kExitDataErr, error);
  if (!path.empty() && !save_config(path, c.config(), error)) return fail(kExitIoErr, error);
  return ok(result);
}

Json streams_cmd(const Controller& c, const Json& req) {
  StreamPageQuery q;
  std::string error;
  if (req.contains("limit")) {
    const Json& l = req["limit"];
    if (!l.is_number_integer() || !check_stream_page_limit(l.get<int64_t>(), error))
      return fail(kExitUsage, l.is_number_integer() ? error : "limit must be an integer");
    q.limit = static_cast<uint32_t>(l.get<int64_t>());
  }
  if (req.contains("after") && !get_u32(req, "after", q.after)) return fail(kExitUsage, "after must be a stream id");
  if (req.contains("gateway")) {
    uint32_t gw = 0;
    if (!get_u32(req, "gateway", gw)) return fail(kExitUsage, "gateway must be a gateway id");
    q.gateway = gw;
  }
  return ok(c.streams_json(q));
}

Json migrate_cmd(Controller& c, const Json& req, bool dry_run, int64_t now_ns) {
  uint32_t stream = 0, gw = 0;
  if (!get_u32(req, "stream", stream) || !get_u32(req, "gateway", gw))
    return fail(kExitUsage, "migrate needs a stream id and a gateway id");
  std::string error;
  uint64_t id = 0;
  if (!c.migrate(stream, gw, dry_run, now_ns, error, id)) return fail(kExitDataErr, error);
  return ok({{"stream", stream}, {"gateway", gw}, {"migration_id", id}, {"dry_run", dry_run}});
}

}  // namespace

Json handle_ctl(Controller& c, const std::string& config_path, const Json& req, int64_t now_ns) {
  if (!req.is_object() || !req.contains("cmd") || !req["cmd"].is_string()) return fail(kExitUsage, "no cmd");
  const std::string cmd = req["cmd"];
  // Every field is type-checked here: a wrong type must be an error reply, never an
  // exception thrown through the daemon's event loop.
  if (req.contains("dry_run") && !req["dry_run"].is_boolean()) return fail(kExitUsage, "dry_run must be true or false");
  const bool dry_run = req.contains("dry_run") && req["dry_run"].get<bool>();
  if (cmd == "status") return ok(c.status_json(now_ns));
  if (cmd == "gateways") return ok(c.gateways_json());
  if (cmd == "streams") return streams_cmd(c, req);
  if (cmd == "gpus") return ok(c.gpus_json());
  if (cmd == "migrations") return ok(c.migrations_json());
  if (cmd == "config_get") {
    if (req.contains("key") && !req["key"].is_string()) return fail(kExitUsage, "key must be a string");
    const std::string key = req.contains("key") ? req["key"].get<std::string>() : std::string();
    Json v;
    if (!config_get(c.config(), key, v)) return fail(kExitUsage, "unknown key " + key);
    return ok(key.empty() ? v : Json{{key, v}});
  }
  if (cmd == "config_set") return config_set_cmd(c, config_path, req, dry_run);
  if (cmd == "drain" || cmd == "undrain") return drain_cmd(c, config_path, req, cmd == "drain", dry_run);
  if (cmd == "migrate") return migrate_cmd(c, req, dry_run, now_ns);
  return fail(kExitUsage, "unknown command " + cmd);
}

}  // namespace aigw::controller
