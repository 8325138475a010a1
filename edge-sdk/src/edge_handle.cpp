#include "edge-sdk/src/edge_handle.h"

#include <sodium.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <ctime>

#include "protocol/data_header.h"
#include "protocol/udp_socket.h"

namespace aigw::edge {

namespace {

constexpr uint32_t kMaxStoreUnits = 1024;
constexpr uint32_t kMaxUnitWireBytes = 64u << 20;
constexpr uint32_t kMinPayload = 64;
constexpr uint32_t kMaxPayload = 65000 - kDataHeaderSize;  // one UDP datagram
constexpr int64_t kMs = 1'000'000;

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t ms_or(uint32_t ms, int64_t fallback_ns) { return ms == 0 ? fallback_ns : int64_t{ms} * kMs; }

bool is_wildcard(const UdpEndpoint& e) {
  const std::string h = e.host();
  return h == "0.0.0.0" || h == "::";
}

// Parses an optional bind address; NULL means the wildcard of the controller's family.
bool bind_endpoint(const char* text, const UdpEndpoint& controller, UdpEndpoint& out) {
  if (text == nullptr) {
    out = any_endpoint(controller.family(), 0);
    return true;
  }
  return parse_endpoint(text, out).empty();
}

int validate(const aigw_edge_options& o, UdpEndpoint& controller, UdpEndpoint& control_bind,
             UdpEndpoint& data_bind) {
  if (o.controller == nullptr || !parse_endpoint(o.controller, controller).empty() || controller.port() == 0)
    return AIGW_ERR_INVALID_ARG;
  if (o.device_id == 0 || o.device_id > kMaxNodeId) return AIGW_ERR_INVALID_ARG;
  if (o.key == nullptr) return AIGW_ERR_INVALID_ARG;
  if (o.mode != AIGW_MODE_EVENT_LOOP && o.mode != AIGW_MODE_THREAD) return AIGW_ERR_INVALID_ARG;
  if (o.data_path != AIGW_DATA_PATH_AUTO && o.data_path != AIGW_DATA_PATH_PLAIN) return AIGW_ERR_INVALID_ARG;
  if ((o.alloc == nullptr) != (o.free == nullptr)) return AIGW_ERR_INVALID_ARG;
  if (o.log_level < AIGW_LOG_DEBUG || o.log_level > AIGW_LOG_OFF) return AIGW_ERR_INVALID_ARG;
  if (o.max_payload != 0 && (o.max_payload < kMinPayload || o.max_payload > kMaxPayload))
    return AIGW_ERR_INVALID_ARG;
  if (o.store_units > kMaxStoreUnits) return AIGW_ERR_INVALID_ARG;
  if (!bind_endpoint(o.control_bind, controller, control_bind) ||
      !bind_endpoint(o.data_bind, controller, data_bind))
    return AIGW_ERR_INVALID_ARG;
  if (o.advertise_address != nullptr) {
    UdpEndpoint probe;
    if (!make_endpoint(o.advertise_address, 0, probe).empty()) return AIGW_ERR_INVALID_ARG;
  }
  return AIGW_OK;
}

}  // namespace

Edge::Edge(const aigw_edge_options& o, const Allocator& alloc)
    : alloc_(alloc),
      log_(o.log, o.log_user, o.log_level),
      clock_(o.clock),
      clock_user_(o.clock_user),
      mode_(o.mode),
      on_event_(o.on_event),
      event_user_(o.event_user) {}

Edge::~Edge() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  io_.wake();
  if (thread_.joinable()) thread_.join();
  if (core_ != nullptr) {
    core_->close_all(now());
    io_.flush();
    alloc_.destroy(core_);
  }
}

int Edge::create(const aigw_edge_options& o, Edge** out) {
  if (sodium_init() < 0) return AIGW_ERR_CRYPTO;
  UdpEndpoint controller, control_bind, data_bind;
  if (const int rc = validate(o, controller, control_bind, data_bind); rc != AIGW_OK) return rc;
  const Allocator alloc(o.alloc, o.free, o.alloc_user);
  Edge* e = alloc.make<Edge>(o, alloc);
  if (e == nullptr) return AIGW_ERR_NO_MEMORY;
  int rc = AIGW_OK;
  try {
    rc = e->start(o, controller, control_bind, data_bind);
  } catch (...) {
    destroy(e);  // allocation or thread creation failed: the caller maps the exception
    throw;
  }
  if (rc != AIGW_OK) {
    // AIGW_ERR_IO leaves errno as the failing socket call set it; the teardown of the
    // half-opened handle (a wake-up write to a descriptor never opened) must not change it.
    const int failed_errno = errno;
    destroy(e);
    errno = failed_errno;
    return rc;
  }
  *out = e;
  return AIGW_OK;
}

int Edge::start(const aigw_edge_options& o, const UdpEndpoint& controller,
                const UdpEndpoint& control_bind, const UdpEndpoint& data_bind) {
  const uint16_t max_payload = static_cast<uint16_t>(o.max_payload == 0 ? 728 : o.max_payload);
  if (const int rc = io_.open(control_bind, data_bind, max_payload, o.data_path != AIGW_DATA_PATH_PLAIN);
      rc != AIGW_OK)
    return rc;
  CoreConfig c;
  c.device_id = o.device_id;
  c.key_id = o.key_id;
  std::memcpy(c.key.data(), o.key, c.key.size());
  c.controller = controller;
  const std::string route_host = local_address_towards(controller);
  const UdpEndpoint& cl = io_.control_local();
  const UdpEndpoint& dl = io_.data_local();
  c.control_address = o.advertise_address != nullptr ? std::string(o.advertise_address)
                      : is_wildcard(cl)              ? route_host
                                                     : cl.host();
  c.control_port = cl.port();
  c.source_address = o.advertise_address != nullptr ? std::string(o.advertise_address)
                     : is_wildcard(dl)              ? route_host
                                                    : dl.host();
  c.source_port = dl.port();
  c.heartbeat_ns = ms_or(o.heartbeat_ms, c.heartbeat_ns);
  c.admission_timeout_ns = ms_or(o.admission_timeout_ms, c.admission_timeout_ns);
  c.retry_ns = ms_or(o.request_retry_ms, c.retry_ns);
  c.max_retry_ns = std::max(c.max_retry_ns, c.retry_ns);
  c.limits.max_payload = max_payload;
  c.limits.store_units = o.store_units == 0 ? 4 : o.store_units;
  c.limits.store_ttl_ns = ms_or(o.store_ttl_ms, c.limits.store_ttl_ns);
  c.counter_start = envelope_counter_start();
  c.clock = envelope_wall_clock;
  c.envelopes_not_before = c.counter_start - kMaxClockSkewNs;
  admission_timeout_ns_ = c.admission_timeout_ns;
  core_ = alloc_.make<DeviceCore>(c, io_, alloc_, log_);
  if (core_ == nullptr) return AIGW_ERR_NO_MEMORY;
  log_.info("edge_created", "device={} controller={} control={}:{} data={}:{} mode={} send_path={}",
            o.device_id, controller.to_string(), c.control_address, c.control_port,
            c.source_address, c.source_port, o.mode == AIGW_MODE_THREAD ? "thread" : "event_loop",
            to_string(io_.send_path()));
  if (io_.send_path() != SendPath::gso && o.data_path != AIGW_DATA_PATH_PLAIN)
    log_.warn("udp_gso_unavailable", "device={} fallback=sendmmsg", o.device_id);
  if (mode_ == AIGW_MODE_THREAD) thread_ = std::thread([this] { run_thread(); });
  return AIGW_OK;
}

void Edge::destroy(Edge* e) {
  if (e == nullptr) return;
  const Allocator alloc = e->alloc_;
  alloc.destroy(e);
}

int64_t Edge::now() const { return clock_ != nullptr ? clock_(clock_user_) : monotonic_ns(); }

void Edge::process_locked(int64_t now_ns) {
  io_.clear_wake();
  io_.drain_control([&](const uint8_t* d, size_t n) { core_->on_control(d, n, now_ns); });
  core_->poll(now_ns);
  io_.flush();
  arm_timer(now_ns);
}

int64_t Edge::effective_deadline(int64_t now_ns) const {
  const int64_t d = core_->next_deadline_ns();
  // With fragments stuck in a full socket buffer the sender is due "now"; EPOLLOUT
  // wakes us when the socket drains, the 1 ms floor keeps that from spinning.
  return io_.has_backlog() ? std::max(d, now_ns + kMs) : d;
}

void Edge::arm_timer(int64_t now_ns) {
  // The timerfd runs on CLOCK_MONOTONIC: only meaningful for the default clock.
  if (clock_ == nullptr) io_.arm_timer(effective_deadline(now_ns));
}

void Edge::wait_for_work(std::unique_lock<std::mutex>& lock, int cap_ms) {
  const int64_t t = now();
  const int64_t deadline = effective_deadline(t);
  int timeout = cap_ms;
  if (deadline != INT64_MAX) {
    const int64_t ms = deadline <= t ? 0 : (deadline - t + kMs - 1) / kMs;
    timeout = static_cast<int>(std::min<int64_t>(ms, cap_ms));
  }
  lock.unlock();
  io_.wait(timeout);
  lock.lock();
}

void Edge::deliver(std::vector<aigw_event>& events) {
  if (on_event_ == nullptr) return;
  for (const aigw_event& ev : events) on_event_(event_user_, &ev);
}

void Edge::run_thread() {
  std::vector<aigw_event> events;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    wait_for_work(lock, 1000);
    if (stop_) break;
    process_locked(now());
    events.swap(core_->events());
    cv_.notify_all();
    if (!events.empty()) {
      lock.unlock();
      deliver(events);
      events.clear();
      lock.lock();
    }
  }
}

int Edge::open_stream(const aigw_stream_profile& p, aigw_stream_info* info) {
  if (p.unit_bytes == 0 || p.period_ms == 0) return AIGW_ERR_INVALID_ARG;
  if (!std::isfinite(p.pace_bytes_per_s) || p.pace_bytes_per_s < 0) return AIGW_ERR_INVALID_ARG;
  StreamSetup setup;
  setup.unit_bytes = p.unit_bytes;
  setup.period_ms = p.period_ms;
  setup.model = p.model != nullptr ? p.model : "";
  setup.pace_bytes_per_s = p.pace_bytes_per_s;
  setup.encrypted = p.payload_key != nullptr;
  if (setup.encrypted) std::memcpy(setup.payload_key.data(), p.payload_key, setup.payload_key.size());
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t wire = uint64_t{p.unit_bytes} + AIGW_UNIT_SEAL_OVERHEAD;
  const auto& limits = core_->limits();
  if (wire > kMaxUnitWireBytes || UnitGeometry::count_for(static_cast<uint32_t>(wire), limits.max_payload) == 0)
    return AIGW_ERR_TOO_LARGE;
  const uint64_t id = core_->begin_admission(setup, now());
  if (mode_ == AIGW_MODE_THREAD) io_.wake();
  // A guard in real time, should an application clock stand still.
  const auto give_up = std::chrono::steady_clock::now() +
                       std::chrono::nanoseconds(admission_timeout_ns_) + std::chrono::seconds(5);
  for (;;) {
    const int rc = core_->admission(id, info);
    if (rc != kAdmissionPending) return rc;
    if (std::chrono::steady_clock::now() > give_up) {
      core_->cancel_admission(id);
      return AIGW_ERR_TIMEOUT;
    }
    if (mode_ == AIGW_MODE_THREAD) {
      cv_.wait_for(lock, std::chrono::milliseconds(100));
    } else {
      // Events raised meanwhile stay queued for the application's next process().
      wait_for_work(lock, 100);
      process_locked(now());
    }
  }
}

int Edge::send_unit(uint32_t stream_id, const void* data, size_t len) {
  std::lock_guard<std::mutex> lock(mu_);
  const int rc = core_->send_unit(stream_id, static_cast<const uint8_t*>(data), len, now());
  if (mode_ == AIGW_MODE_THREAD) {
    io_.wake();  // the thread sends what pacing holds back
  } else {
    arm_timer(now());
  }
  return rc;
}

int Edge::close_stream(uint32_t stream_id) {
  std::lock_guard<std::mutex> lock(mu_);
  const int rc = core_->close_stream(stream_id, now());
  if (mode_ == AIGW_MODE_THREAD) io_.wake();
  return rc;
}

int Edge::fd() {
  if (mode_ != AIGW_MODE_EVENT_LOOP) return AIGW_ERR_STATE;
  return io_.epoll_fd();
}

int Edge::process(int64_t now_ns) {
  if (mode_ != AIGW_MODE_EVENT_LOOP) return AIGW_ERR_STATE;
  std::vector<aigw_event> events;
  {
    std::lock_guard<std::mutex> lock(mu_);
    process_locked(now_ns);
    events.swap(core_->events());
  }
  deliver(events);
  return AIGW_OK;
}

int64_t Edge::next_deadline_ns() {
  std::lock_guard<std::mutex> lock(mu_);
  return core_->next_deadline_ns();
}

int Edge::stream_stats(uint32_t stream_id, aigw_stream_stats& out) {
  std::lock_guard<std::mutex> lock(mu_);
  return core_->stream_stats(stream_id, out);
}

void Edge::counters(aigw_edge_counters& out) {
  std::lock_guard<std::mutex> lock(mu_);
  const CoreCounters& c = core_->counters();
  const IoCounters& io = io_.counters();
  out.control_received = c.control_received;
  out.control_bad_envelope = 0;
  for (uint64_t n : c.envelope_rejected) out.control_bad_envelope += n;
  out.control_bad_body = c.bad_body;
  out.control_wrong_sender = c.wrong_sender;
  out.control_unexpected = c.unexpected_type;
  out.control_unknown_stream = c.unknown_stream;
  out.stale_replies = c.stale_replies;
  out.nacks_malformed = c.nacks_malformed;
  out.heartbeats_sent = c.heartbeats_sent;
  out.controller_heartbeats = c.controller_heartbeats;
  out.controller_seen_ns = c.controller_seen_ns;
  out.control_send_errors = io.control_send_errors;
  out.fragment_send_errors = io.fragment_send_errors;
  out.send_blocked = io.send_blocked;
}

}  // namespace aigw::edge
