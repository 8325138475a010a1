// The C ABI (aigw/edge.h): argument and struct-size checks, then the Edge object.
// Nothing thrown inside crosses this boundary: each entry point maps exceptions
// (allocation failure, thread creation) to error codes.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <system_error>

#include "aigw/edge.h"
#include "edge-sdk/src/abi.h"
#include "edge-sdk/src/edge_handle.h"
#include "edge-sdk/src/stats_json.h"

namespace {

using aigw::edge::Edge;
using aigw::edge::struct_ok;

// The opaque aigw_edge is never defined: a handle is an Edge* round-tripped through
// the incomplete type, which reinterpret_cast preserves.
Edge* impl(aigw_edge* e) { return reinterpret_cast<Edge*>(e); }

template <typename Fn>
int guarded(Fn&& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return AIGW_ERR_NO_MEMORY;
  } catch (const std::system_error&) {
    return AIGW_ERR_IO;
  } catch (...) {
    return AIGW_ERR_STATE;
  }
}

}  // namespace

extern "C" {

const char* aigw_edge_version(void) { return AIGW_EDGE_VERSION; }

void aigw_edge_options_init(aigw_edge_options* o) {
  if (o == nullptr) return;
  std::memset(o, 0, sizeof *o);
  o->size = sizeof *o;
  o->log_level = AIGW_LOG_INFO;
}

void aigw_stream_profile_init(aigw_stream_profile* p) {
  if (p == nullptr) return;
  std::memset(p, 0, sizeof *p);
  p->size = sizeof *p;
  p->model = "";
}

int aigw_edge_create(const aigw_edge_options* options, aigw_edge** out) {
  if (out == nullptr) return AIGW_ERR_INVALID_ARG;
  *out = nullptr;
  if (options == nullptr) return AIGW_ERR_INVALID_ARG;
  // 0.1 callers' struct ends before data_path: take what they declared, default the rest.
  if (options->size < offsetof(aigw_edge_options, data_path)) return AIGW_ERR_STRUCT_SIZE;
  aigw_edge_options o;
  aigw_edge_options_init(&o);
  std::memcpy(&o, options, std::min<size_t>(options->size, sizeof o));
  o.size = sizeof o;
  return guarded([&] {
    Edge* e = nullptr;
    const int rc = Edge::create(o, &e);
    if (rc == AIGW_OK) *out = reinterpret_cast<aigw_edge*>(e);
    return rc;
  });
}

void aigw_edge_destroy(aigw_edge* edge) {
  guarded([&] {
    Edge::destroy(impl(edge));
    return AIGW_OK;
  });
}

int aigw_edge_open_stream(aigw_edge* edge, const aigw_stream_profile* profile,
                          aigw_stream_info* info) {
  if (edge == nullptr || profile == nullptr || info == nullptr) return AIGW_ERR_INVALID_ARG;
  if (!struct_ok(profile) || !struct_ok(info)) return AIGW_ERR_STRUCT_SIZE;
  return guarded([&] { return impl(edge)->open_stream(*profile, info); });
}

int aigw_edge_send_unit(aigw_edge* edge, uint32_t stream_id, const void* data, size_t len) {
  if (edge == nullptr || data == nullptr) return AIGW_ERR_INVALID_ARG;
  return guarded([&] { return impl(edge)->send_unit(stream_id, data, len); });
}

int aigw_edge_close_stream(aigw_edge* edge, uint32_t stream_id) {
  if (edge == nullptr) return AIGW_ERR_INVALID_ARG;
  return guarded([&] { return impl(edge)->close_stream(stream_id); });
}

int aigw_edge_fd(aigw_edge* edge) {
  if (edge == nullptr) return AIGW_ERR_INVALID_ARG;
  return impl(edge)->fd();
}

int aigw_edge_process(aigw_edge* edge, int64_t now_ns) {
  if (edge == nullptr) return AIGW_ERR_INVALID_ARG;
  return guarded([&] { return impl(edge)->process(now_ns); });
}

int64_t aigw_edge_next_deadline(aigw_edge* edge) {
  if (edge == nullptr) return INT64_MAX;
  return impl(edge)->next_deadline_ns();
}

int aigw_edge_stream_stats(aigw_edge* edge, uint32_t stream_id, aigw_stream_stats* stats) {
  if (edge == nullptr || stats == nullptr) return AIGW_ERR_INVALID_ARG;
  if (!struct_ok(stats)) return AIGW_ERR_STRUCT_SIZE;
  const uint32_t size = stats->size;
  std::memset(stats, 0, sizeof *stats);
  stats->size = size;
  return guarded([&] { return impl(edge)->stream_stats(stream_id, *stats); });
}

int aigw_edge_stream_stats_json(aigw_edge* edge, uint32_t stream_id, char* buf, size_t cap,
                                size_t* needed) {
  if (edge == nullptr || (buf == nullptr && cap > 0)) return AIGW_ERR_INVALID_ARG;
  return guarded([&] {
    aigw_stream_stats s{};
    s.size = sizeof s;
    const int rc = impl(edge)->stream_stats(stream_id, s);
    if (rc != AIGW_OK) return rc;
    const std::string json = aigw::edge::stats_to_json(s);
    if (needed != nullptr) *needed = json.size();
    if (cap < json.size() + 1) return static_cast<int>(AIGW_ERR_BUFFER);
    std::memcpy(buf, json.c_str(), json.size() + 1);
    return static_cast<int>(AIGW_OK);
  });
}

int aigw_edge_get_counters(aigw_edge* edge, aigw_edge_counters* counters) {
  if (edge == nullptr || counters == nullptr) return AIGW_ERR_INVALID_ARG;
  if (!struct_ok(counters)) return AIGW_ERR_STRUCT_SIZE;
  const uint32_t size = counters->size;
  std::memset(counters, 0, sizeof *counters);
  counters->size = size;
  impl(edge)->counters(*counters);
  return AIGW_OK;
}

}  // extern "C"
