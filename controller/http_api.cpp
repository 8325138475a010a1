#include "controller/http_api.h"

#include <microhttpd.h>

#include <cstring>

#include "controller/socket_address.h"

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
  const auto* api = static_cast<const HttpApi*>(cls);
  if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0)
    return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json", "{\"error\":\"read-only API\"}\n");
  if (*upload_size != 0) return MHD_NO;
  std::string type, body;
  if (!api->lookup(url, type, body))
    return respond(conn, MHD_HTTP_NOT_FOUND, "application/json", "{\"error\":\"not found\"}\n");
  return respond(conn, MHD_HTTP_OK, type, body);
}

}  // namespace

std::unique_ptr<HttpApi> HttpApi::create(const std::string& listen, std::string& error) {
  sockaddr_storage sa{};
  socklen_t len = 0;
  if (!parse_host_port(listen, sa, len)) {
    error = "http_listen: not host:port: " + listen;
    return nullptr;
  }
  std::unique_ptr<HttpApi> api(new HttpApi());
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

void HttpApi::publish(std::map<std::string, std::pair<std::string, std::string>> documents) {
  std::lock_guard lock(mu_);
  docs_ = std::move(documents);
}

bool HttpApi::lookup(const std::string& path, std::string& content_type, std::string& body) const {
  std::lock_guard lock(mu_);
  auto it = docs_.find(path);
  if (it == docs_.end()) return false;
  content_type = it->second.first;
  body = it->second.second;
  return true;
}

}  // namespace aigw::controller
