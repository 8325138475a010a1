// The server C ABI: argument and struct-size checks, then the Server object. Nothing
// throws across it.
#include <cstring>
#include <new>

#include "aigw/server.h"
#include "edge-sdk/server/server_handle.h"

struct aigw_server {
  aigw::server::Server* impl;
};

namespace {

// The first published aigw_server_options ends after unit_user.
constexpr size_t kOptionsV1 = sizeof(aigw_server_options);

aigw::server::Server* impl(aigw_server* s) { return s == nullptr ? nullptr : s->impl; }

}  // namespace

extern "C" {

void aigw_server_options_init(aigw_server_options* o) {
  if (o == nullptr) return;
  std::memset(o, 0, sizeof *o);
  o->size = sizeof *o;
  o->key_id = 1;
  o->log_level = AIGW_LOG_INFO;
}

int aigw_server_create(const aigw_server_options* options, aigw_server** out) {
  if (options == nullptr || out == nullptr) return AIGW_ERR_INVALID_ARG;
  *out = nullptr;
  if (options->size < kOptionsV1) return AIGW_ERR_STRUCT_SIZE;
  auto* h = new (std::nothrow) aigw_server{nullptr};
  if (h == nullptr) return AIGW_ERR_NO_MEMORY;
  const int rc = aigw::server::Server::create(*options, &h->impl);
  if (rc != AIGW_OK) {
    delete h;
    return rc;
  }
  *out = h;
  return AIGW_OK;
}

void aigw_server_destroy(aigw_server* server) {
  if (server == nullptr) return;
  aigw::server::Server::destroy(server->impl);
  delete server;
}

int aigw_server_data_address(aigw_server* server, char* buf, size_t cap) {
  auto* s = impl(server);
  return s ? s->data_address(buf, cap) : AIGW_ERR_INVALID_ARG;
}

int aigw_server_next_unit(aigw_server* server, aigw_unit* unit, int timeout_ms) {
  auto* s = impl(server);
  return s ? s->next_unit(unit, timeout_ms) : AIGW_ERR_INVALID_ARG;
}

int aigw_server_release(aigw_server* server, uint64_t token) {
  auto* s = impl(server);
  return s ? s->release(token) : AIGW_ERR_INVALID_ARG;
}

int aigw_server_set_stream_key(aigw_server* server, uint32_t stream_id, const uint8_t* key) {
  auto* s = impl(server);
  return s ? s->set_stream_key(stream_id, key) : AIGW_ERR_INVALID_ARG;
}

int aigw_server_report_load(aigw_server* server, double load, const aigw_model_load* models, size_t count) {
  auto* s = impl(server);
  return s ? s->report_load(load, models, count) : AIGW_ERR_INVALID_ARG;
}

int aigw_server_fd(aigw_server* server) {
  auto* s = impl(server);
  return s ? s->fd() : AIGW_ERR_INVALID_ARG;
}

int aigw_server_process(aigw_server* server, int64_t now_ns) {
  auto* s = impl(server);
  return s ? s->process(now_ns) : AIGW_ERR_INVALID_ARG;
}

int64_t aigw_server_next_deadline(aigw_server* server) {
  auto* s = impl(server);
  return s ? s->next_deadline_ns() : INT64_MAX;
}

int aigw_server_get_counters(aigw_server* server, aigw_server_counters* counters) {
  auto* s = impl(server);
  if (s == nullptr || counters == nullptr) return AIGW_ERR_INVALID_ARG;
  if (counters->size < sizeof(aigw_server_counters)) return AIGW_ERR_STRUCT_SIZE;
  s->counters(*counters);
  return AIGW_OK;
}

}  // extern "C"
