#include "gateway/node/metrics_server.h"

#include <microhttpd.h>

#include <cstring>

namespace aigw {

namespace {

MHD_Result answer(void* cls, MHD_Connection* connection, const char* url, const char* method, const char*,
                  const char*, size_t*, void**) {
  auto* render = static_cast<MetricsServer::Render*>(cls);
  std::string body;
  unsigned status = MHD_HTTP_OK;
  if (std::strcmp(method, "GET") != 0) {
    status = MHD_HTTP_METHOD_NOT_ALLOWED;
    body = "only GET\n";
  } else if (std::strcmp(url, "/metrics") != 0) {
    status = MHD_HTTP_NOT_FOUND;
    body = "see /metrics\n";
  } else {
    (*render)(body);
  }
  MHD_Response* r = MHD_create_response_from_buffer(body.size(), body.data(), MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  MHD_Result ret = MHD_queue_response(connection, status, r);
  MHD_destroy_response(r);
  return ret;
}

}  // namespace

MetricsServer::~MetricsServer() { stop(); }

bool MetricsServer::start(const Ipv4Endpoint& bind, std::string& error) {
  sockaddr_in sa = bind.to_sockaddr();
  // Bounded connections, a sixteenth per address: clients that dribble their requests
  // from one host cannot use up the process's descriptors or lock a scraper out.
  daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, bind.port, nullptr, nullptr,
                             &answer, &render_, MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&sa),
                             MHD_OPTION_CONNECTION_LIMIT, 256u, MHD_OPTION_PER_IP_CONNECTION_LIMIT, 16u,
                             MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
  if (daemon_ == nullptr) {
    error = "cannot serve metrics on " + to_string(bind);
    return false;
  }
  bound_ = bind;
  if (const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT))
    bound_.port = info->port;
  return true;
}

void MetricsServer::stop() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
}

}  // namespace aigw
