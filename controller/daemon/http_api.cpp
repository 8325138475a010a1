#include "controller/daemon/http_api.h"

#include <microhttpd.h>

#include <chrono>
#include <cstring>

#include <nlohmann/json.hpp>

#include "protocol/log.h"
#include "protocol/udp_endpoint.h"

namespace aigw::controller {

namespace {

constexpr unsigned kMaxConnections = 256;
constexpr unsigned kMaxConnectionsPerAddress = kMaxConnections / 16;

MHD_Result respond(MHD_Connection* conn, unsigned status, const std::string& type, const std::string& body) {
  MHD_Response* r = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(r, "Content-Type", type.c_str());
  const MHD_Result ret = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ret;
}

std::string error_json(const std::string& error) { return nlohmann::json{{"error", error}}.dump() + "\n"; }

/// The request's parameters, read by name through libmicrohttpd; false (with a
/// reason) when some argument is not one of `names`, is repeated or has no value.
bool read_query(MHD_Connection* conn, const std::vector<std::string>& names, HttpApi::Query& query,
                std::string& error) {
  // Counts every argument, including unknown and repeated ones and those without
  // a value: if the accepted names do not account for all of them, something is wrong.
  const int given = MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, nullptr, nullptr);
  for (const std::string& name : names)
    if (const char* v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name.c_str())) query[name] = v;
  if (given >= 0 && size_t(given) == query.size()) return true;
  std::string accepted;
  for (const std::string& name : names) accepted += (accepted.empty() ? "" : ", ") + name;
  error = "unknown, repeated or empty parameter (accepted: " + accepted + ")";
  return false;
}

MHD_Result on_request(void* cls, MHD_Connection* conn, const char* url, const char* method, const char*,
                      const char*, size_t* upload_size, void**) {
  auto* api = static_cast<HttpApi*>(cls);
  if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0)
    return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json", error_json("read-only API"));
  if (*upload_size != 0) return MHD_NO;
  HttpApi::Request req{url, {}};
  std::string type, body;
  if (MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, nullptr, nullptr) > 0) {
    const std::vector<std::string>* names = api->query_names(req.path);
    if (names == nullptr) {
      // A known path that takes no parameters answers 400, an unknown one 404.
      if (!api->serves(req.path)) return respond(conn, MHD_HTTP_NOT_FOUND, "application/json", error_json("not found"));
      return respond(conn, MHD_HTTP_BAD_REQUEST, "application/json", error_json(req.path + " takes no parameters"));
    }
    std::string error;
    if (!read_query(conn, *names, req.query, error))
      return respond(conn, MHD_HTTP_BAD_REQUEST, "application/json", error_json(error));
  }
  switch (api->lookup(req, type, body)) {
    case HttpApi::Lookup::ok: return respond(conn, MHD_HTTP_OK, type, body);
    case HttpApi::Lookup::unknown_path:
      return respond(conn, MHD_HTTP_NOT_FOUND, "application/json", error_json("not found"));
    case HttpApi::Lookup::bad_query: return respond(conn, MHD_HTTP_BAD_REQUEST, "application/json", body);
    case HttpApi::Lookup::unavailable: break;
  }
  return respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", error_json("not ready"));
}

}  // namespace

std::unique_ptr<HttpApi> HttpApi::create(const std::string& listen, const std::vector<std::string>& paths,
                                         std::map<std::string, QueryPath> query_paths, size_t max_query_docs,
                                         int64_t max_age_ns, std::function<void()> wake, std::string& error) {
  UdpEndpoint bind_to;  // the same numeric address:port form as the UDP listen address
  if (const std::string why = parse_endpoint(listen, bind_to); !why.empty()) {
    error = "http_listen: " + why;
    return nullptr;
  }
  std::unique_ptr<HttpApi> api(new HttpApi());
  api->max_age_ns_ = max_age_ns;
  api->max_query_docs_ = max_query_docs;
  api->wake_ = std::move(wake);
  api->query_paths_ = std::move(query_paths);
  for (const auto& p : paths) api->docs_[p] = std::make_shared<Entry>();
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
  if (bind_to.family() == AF_INET6) flags |= MHD_USE_IPv6;
  // One address may hold a sixteenth of the connections: clients that dribble their
  // requests (or never finish them) from one host cannot lock every scraper out.
  api->daemon_ = MHD_start_daemon(flags, 0, nullptr, nullptr, &on_request, api.get(), MHD_OPTION_SOCK_ADDR,
                                  bind_to.sa(), MHD_OPTION_CONNECTION_LIMIT, kMaxConnections,
                                  MHD_OPTION_PER_IP_CONNECTION_LIMIT, kMaxConnectionsPerAddress,
                                  MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
  if (api->daemon_ == nullptr) {
    error = "cannot listen for HTTP on " + listen;
    return nullptr;
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(api->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  api->port_ = info ? info->port : 0;
  return api;
}

HttpApi::~HttpApi() {
  if (daemon_) MHD_stop_daemon(daemon_);
}

bool HttpApi::serves(const std::string& path) const {
  // docs_ gains and loses no paths after create(): reading its keys needs no lock.
  return docs_.count(path) != 0 || query_paths_.count(path) != 0;
}

const std::vector<std::string>* HttpApi::query_names(const std::string& path) const {
  auto it = query_paths_.find(path);
  return it == query_paths_.end() ? nullptr : &it->second.names;
}

size_t HttpApi::cached_query_docs() {
  std::lock_guard lock(mu_);
  return query_docs_.size();
}

std::vector<HttpApi::Request> HttpApi::requested() {
  std::lock_guard lock(mu_);
  std::vector<Request> out;
  for (auto& [req, e] : requested_) {
    out.push_back(req);
    rendering_[req] = std::move(e);
  }
  requested_.clear();
  return out;
}

void HttpApi::publish(const Request& req, Document doc, int64_t now_ns) {
  {
    std::lock_guard lock(mu_);
    EntryPtr e;
    if (auto r = rendering_.find(req); r != rendering_.end()) {
      e = std::move(r->second);
      rendering_.erase(r);
    } else if (req.query.empty()) {
      if (auto d = docs_.find(req.path); d != docs_.end()) e = d->second;
    } else if (auto q = query_docs_.find(req); q != query_docs_.end()) {
      e = q->second.entry;
    }
    if (!e) return;
    e->doc = std::move(doc);
    e->rendered_ns = now_ns;
    e->valid = true;
    ++e->generation;
  }
  rendered_.notify_all();
}

void HttpApi::invalidate() {
  std::lock_guard lock(mu_);
  for (auto& [path, e] : docs_) e->rendered_ns = INT64_MIN / 2;
  for (auto& [req, c] : query_docs_) c.entry->rendered_ns = INT64_MIN / 2;
}

HttpApi::EntryPtr HttpApi::entry(const Request& req) {
  if (req.query.empty()) {
    auto it = docs_.find(req.path);
    return it == docs_.end() ? nullptr : it->second;
  }
  if (auto it = query_docs_.find(req); it != query_docs_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second.entry;
  }
  // Dropped from the cache while a rendering was under way: take that entry back, so
  // its rendering lands where this reader waits.
  EntryPtr e;
  if (auto r = requested_.find(req); r != requested_.end()) e = r->second;
  else if (auto r2 = rendering_.find(req); r2 != rendering_.end()) e = r2->second;
  else e = std::make_shared<Entry>();
  lru_.push_front(req);
  query_docs_.emplace(req, Cached{e, lru_.begin()});
  while (query_docs_.size() > max_query_docs_) {
    query_docs_.erase(lru_.back());
    lru_.pop_back();
  }
  return e;
}

HttpApi::Lookup HttpApi::lookup(const Request& req, std::string& content_type, std::string& body) {
  if (!req.query.empty()) {
    auto qp = query_paths_.find(req.path);
    if (qp == query_paths_.end()) return Lookup::unknown_path;
    std::string error;
    if (!qp->second.check(req.query, error)) {
      body = error_json(error);
      return Lookup::bad_query;
    }
  }
  std::unique_lock lock(mu_);
  const EntryPtr e = entry(req);
  if (!e) return Lookup::unknown_path;
  if (!e->valid || log::steady_now_ns() - e->rendered_ns > max_age_ns_) {
    const uint64_t seen = e->generation;
    const bool first = requested_.emplace(req, e).second;
    lock.unlock();
    if (first) wake_();
    lock.lock();
    // A busy or stopping loop may not answer: then the last rendering is served.
    rendered_.wait_for(lock, std::chrono::seconds(1), [&] { return e->generation != seen; });
    if (!e->valid) return Lookup::unavailable;
  }
  content_type = e->doc.first;
  body = e->doc.second;
  return Lookup::ok;
}

}  // namespace aigw::controller
