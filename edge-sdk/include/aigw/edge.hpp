// aigw edge SDK: thin header-only C++ wrapper over the C ABI (aigw/edge.h).
// No exceptions: every call returns an aigw::edge::Status. The wrapper adds RAII for
// the handle and std::string/std::vector conveniences; it holds no state of its own.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "aigw/edge.h"

namespace aigw {
namespace edge {

/// Result of a call: an aigw_error code with its message.
class Status {
 public:
  Status(int code = AIGW_OK) : code_(code) {}  // NOLINT: implicit from C codes on purpose
  bool ok() const { return code_ == AIGW_OK; }
  explicit operator bool() const { return ok(); }
  int code() const { return code_; }
  const char* message() const { return aigw_strerror(code_); }

 private:
  int code_;
};

/// Options with defaults; set the fields you need (see aigw_edge_options).
inline aigw_edge_options default_options() {
  aigw_edge_options o;
  aigw_edge_options_init(&o);
  return o;
}

inline aigw_stream_profile default_profile() {
  aigw_stream_profile p;
  aigw_stream_profile_init(&p);
  return p;
}

/// Owns one aigw_edge handle. Move-only.
class Client {
 public:
  Client() = default;
  ~Client() { aigw_edge_destroy(handle_); }
  Client(Client&& o) noexcept : handle_(o.handle_) { o.handle_ = nullptr; }
  Client& operator=(Client&& o) noexcept {
    std::swap(handle_, o.handle_);
    return *this;
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Creates the handle (replacing any previous one).
  Status create(const aigw_edge_options& options) {
    aigw_edge_destroy(handle_);
    handle_ = nullptr;
    return aigw_edge_create(&options, &handle_);
  }

  Status open_stream(const aigw_stream_profile& profile, aigw_stream_info& info) {
    info.size = sizeof info;
    return aigw_edge_open_stream(handle_, &profile, &info);
  }
  Status send_unit(uint32_t stream_id, const void* data, size_t len) {
    return aigw_edge_send_unit(handle_, stream_id, data, len);
  }
  Status send_unit(uint32_t stream_id, const std::vector<uint8_t>& unit) {
    return send_unit(stream_id, unit.data(), unit.size());
  }
  Status close_stream(uint32_t stream_id) { return aigw_edge_close_stream(handle_, stream_id); }

  /// Event-loop mode: the descriptor to poll, or a negative aigw_error.
  int fd() { return aigw_edge_fd(handle_); }
  Status process(int64_t now_ns) { return aigw_edge_process(handle_, now_ns); }
  int64_t next_deadline() { return aigw_edge_next_deadline(handle_); }

  Status stats(uint32_t stream_id, aigw_stream_stats& out) {
    out.size = sizeof out;
    return aigw_edge_stream_stats(handle_, stream_id, &out);
  }
  /// Statistics as a JSON object; empty string on error.
  std::string stats_json(uint32_t stream_id) {
    size_t needed = 0;
    std::string s(256, '\0');
    int rc = aigw_edge_stream_stats_json(handle_, stream_id, &s[0], s.size(), &needed);
    if (rc == AIGW_ERR_BUFFER) {
      s.assign(needed + 1, '\0');
      rc = aigw_edge_stream_stats_json(handle_, stream_id, &s[0], s.size(), &needed);
    }
    if (rc != AIGW_OK) return std::string();
    s.resize(needed);
    return s;
  }

  aigw_edge* get() const { return handle_; }
  explicit operator bool() const { return handle_ != nullptr; }

 private:
  aigw_edge* handle_ = nullptr;
};

/// Split planner over a vector of layer profiles (see aigw/edge_planner.h).
inline Status plan_split(const std::vector<aigw_layer_profile>& layers, uint64_t input_bytes,
                         double uplink_bps, double latency_target_ms, int objective,
                         aigw_plan_result& result) {
  aigw_plan_request rq{};
  rq.size = sizeof rq;
  rq.layers = layers.data();
  rq.layer_count = static_cast<uint32_t>(layers.size());
  rq.input_bytes = input_bytes;
  rq.uplink_bps = uplink_bps;
  rq.latency_target_ms = latency_target_ms;
  rq.objective = objective;
  result.size = sizeof result;
  return aigw_plan_split(&rq, &result);
}

/// GPU side: digest check and decryption of one received unit.
inline Status open_unit(const uint8_t* key, uint32_t stream_id, uint32_t unit_seq,
                        const uint8_t* wire, size_t wire_len, std::vector<uint8_t>& plain) {
  plain.resize(wire_len > AIGW_UNIT_SEAL_OVERHEAD ? wire_len - AIGW_UNIT_SEAL_OVERHEAD : 0);
  size_t n = 0;
  Status s = aigw_unit_open(key, stream_id, unit_seq, wire, wire_len, plain.data(), plain.size(), &n);
  plain.resize(s.ok() ? n : 0);
  return s;
}

}  // namespace edge
}  // namespace aigw
