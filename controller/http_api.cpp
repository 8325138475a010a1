#include "controller/http_api.h"

#include <microhttpd.h>

#include <chrono>
#include <cstring>

#include "controller/socket_address.h"
#include "protocol/log.h"

namespace aigw::controller {

namespace {

MHD_Result respond(MHD_Connection* conn, unsigned status, const std::string& type, const std::string& body) {
  MHD_Response* r = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(r, "Content-Type", type.c_str());
  const MHD_Result ret = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ret;
}

MHD_Result on_request(void* cls, MHD_Connection* conn, const char* url, const char* method, const char*,
                      const char*, size_t* upload_size, void**) {
  auto* api = static_cast<HttpApi*>(cls);
  if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0)
    return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json", "{\"error\":\"read-only API\"}\n");
  if (*upload_size != 0) return MHD_NO;
  std::string type, body;
  switch (api->lookup(url, type, body)) {
    case HttpApi::Lookup::ok: return respond(conn, MHD_HTTP_OK, type, body);
    case HttpApi::Lookup::unknown_path:
      return respond(conn, MHD_HTTP_NOT_FOUND, "application/json", "{\"error\":\"not found\"}\n");
    case HttpApi::Lookup::unavailable: break;
  }
  return respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", "{\"error\":\"not ready\"}\n");
}

}  // namespace

std::unique_ptr<HttpApi> HttpApi::create(const std::string& listen, const std::vector<std::string>& paths,
                                         int64_t max_age_ns, std::function<void()> wake, std::string& error) {
  sockaddr_storage sa{};
  socklen_t len = 0;
  if (!parse_host_port(listen, sa, len)) {
    error = "http_listen: not host:port: " + listen;
    return nullptr;
  }
  std::unique_ptr<HttpApi> api(new HttpApi());
  api->max_age_ns_ = max_age_ns;
  api->wake_ = std::move(wake);
  for (const auto& p : paths) api->docs_[p];
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
  if (sa.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  api->daemon_ = MHD_start_daemon(flags, 0, nullptr, nullptr, &on_request, api.get(), MHD_OPTION_SOCK_ADDR,
                                  reinterpret_cast<sockaddr*>(&sa), MHD_OPTION_CONNECTION_LIMIT, 64U,
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

std::vector<std::string> HttpApi::requested() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out(requested_.begin(), requested_.end());
  requested_.clear();
  return out;
}

void HttpApi::publish(const std::string& path, Document doc, int64_t now_ns) {
  {
    std::lock_guard lock(mu_);
    auto it = docs_.find(path);
    if (it == docs_.end()) return;
    it->second.doc = std::move(doc);
    it->second.rendered_ns = now_ns;
    it->second.valid = true;
    ++it->second.generation;
  }
  rendered_.notify_all();
}

void HttpApi::invalidate() {
  std::lock_guard lock(mu_);
  for (auto& [path, e] : docs_) e.rendered_ns = INT64_MIN / 2;
}

HttpApi::Lookup HttpApi::lookup(const std::string& path, std::string& content_type, std::string& body) {
  std::unique_lock lock(mu_);
  auto it = docs_.find(path);
  if (it == docs_.end()) return Lookup::unknown_path;
  Entry& e = it->second;
  if (!e.valid || log::steady_now_ns() - e.rendered_ns > max_age_ns_) {
    const uint64_t seen = e.generation;
    const bool first = requested_.insert(path).second;
    lock.unlock();
    if (first) wake_();
    lock.lock();
    // A busy or stopping loop may not answer: then the last rendering is served.
    rendered_.wait_for(lock, std::chrono::seconds(1), [&] { return e.generation != seen; });
    if (!e.valid) return Lookup::unavailable;
  }
  content_type = e.doc.first;
  body = e.doc.second;
  return Lookup::ok;
}

}  // namespace aigw::controller
