#include "edge-sdk/server/server_handle.h"

#include <sodium.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>

#include "protocol/udp_offload.h"
#include "protocol/udp_socket.h"

namespace aigw::server {

namespace {

constexpr int64_t kMs = 1'000'000;
constexpr uint32_t kMaxNodeId = 0xFFFFFF;
constexpr size_t kBatch = 64;
constexpr size_t kPlainSlot = 2048;          // one fragment; a GRO receive takes kGroMaxReceive
constexpr int kReadTurns = 8;                // bounded work per wake-up, then timers run
constexpr int kDataSocketBuffer = 64 << 20;  // several seconds of units from every gateway
constexpr uint32_t kMaxHeld = 1u << 16;
constexpr int kThreadWaitCapMs = 100;

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// The receive side only: open_udp_socket's buffer_bytes would raise SO_SNDBUF too, and
// this socket sends nothing but acks and NACKs. SO_RCVBUFFORCE needs CAP_NET_ADMIN;
// without it the kernel's cap (net.core.rmem_max) applies.
void raise_receive_buffer(int fd, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

bool add_epoll(int epfd, int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0;
}

int validate(const aigw_server_options& o, UdpEndpoint& controller, UdpEndpoint& data_bind,
             UdpEndpoint& control_bind, UdpEndpoint& advertise) {
  if (o.controller == nullptr || !parse_endpoint(o.controller, controller).empty() || controller.port() == 0)
    return AIGW_ERR_INVALID_ARG;
  if (o.gpu_id == 0 || o.gpu_id > kMaxNodeId || o.key == nullptr) return AIGW_ERR_INVALID_ARG;
  if (o.models == nullptr || o.model_count == 0) return AIGW_ERR_INVALID_ARG;
  for (size_t i = 0; i < o.model_count; ++i)
    if (o.models[i] == nullptr || o.models[i][0] == '\0') return AIGW_ERR_INVALID_ARG;
  if (o.mode != AIGW_MODE_EVENT_LOOP && o.mode != AIGW_MODE_THREAD) return AIGW_ERR_INVALID_ARG;
  if (o.mode == AIGW_MODE_THREAD && o.clock != nullptr) return AIGW_ERR_INVALID_ARG;
  if ((o.alloc == nullptr) != (o.free == nullptr)) return AIGW_ERR_INVALID_ARG;
  if (o.log_level < AIGW_LOG_DEBUG || o.log_level > AIGW_LOG_OFF) return AIGW_ERR_INVALID_ARG;
  if (o.max_held_units > kMaxHeld || o.capacity_units_per_s < 0) return AIGW_ERR_INVALID_ARG;
  if (o.max_unit_bytes > (1u << 30)) return AIGW_ERR_INVALID_ARG;
  if (!parse_endpoint(o.data_bind != nullptr ? o.data_bind : "127.0.0.1:0", data_bind).empty())
    return AIGW_ERR_INVALID_ARG;
  if (o.control_bind != nullptr) {
    if (!parse_endpoint(o.control_bind, control_bind).empty()) return AIGW_ERR_INVALID_ARG;
  } else if (!make_endpoint(data_bind.host(), 0, control_bind).empty()) {
    return AIGW_ERR_INVALID_ARG;
  }
  if (o.advertise != nullptr && !parse_endpoint(o.advertise, advertise).empty()) return AIGW_ERR_INVALID_ARG;
  return AIGW_OK;
}

void copy_address(const UdpEndpoint& e, char* out, uint16_t& port) {
  const std::string h = e.valid() ? e.host() : std::string();
  std::snprintf(out, AIGW_ADDRESS_CHARS, "%s", h.c_str());
  port = e.valid() ? e.port() : 0;
}

}  // namespace

Server::Server(const aigw_server_options& o)
    : log_(o.log, o.log_user, o.log_level),
      clock_(o.clock),
      clock_user_(o.clock_user),
      mode_(o.mode),
      on_unit_(o.on_unit),
      unit_user_(o.unit_user),
      alloc_(o.alloc),
      free_(o.free),
      alloc_user_(o.alloc_user) {}

Server::~Server() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  if (core_) core_->leave();
  core_.reset();
  for (int fd : {data_fd_, control_fd_, epoll_fd_, timer_fd_, wake_fd_})
    if (fd >= 0) close(fd);
}

int Server::create(const aigw_server_options& o, Server** out) {
  if (out == nullptr) return AIGW_ERR_INVALID_ARG;
  *out = nullptr;
  if (sodium_init() < 0) return AIGW_ERR_CRYPTO;
  UdpEndpoint controller, data_bind, control_bind, advertise;
  if (const int rc = validate(o, controller, data_bind, control_bind, advertise); rc != AIGW_OK) return rc;
  Server* s = new (std::nothrow) Server(o);
  if (s == nullptr) return AIGW_ERR_NO_MEMORY;
  const int rc = s->start(o, controller, data_bind, control_bind, advertise);
  if (rc != AIGW_OK) {
    delete s;
    return rc;
  }
  *out = s;
  return AIGW_OK;
}

void Server::destroy(Server* s) { delete s; }

int Server::start(const aigw_server_options& o, const UdpEndpoint& controller, const UdpEndpoint& data_bind,
                  const UdpEndpoint& control_bind, const UdpEndpoint& advertise) {
  UdpEndpoint control_local;
  std::string error;  // the C ABI reports the code and errno, which open_udp_socket keeps
  data_fd_ = open_udp_socket(data_bind, {}, data_local_, error);
  if (data_fd_ < 0) return AIGW_ERR_IO;
  raise_receive_buffer(data_fd_, kDataSocketBuffer);
  control_fd_ = open_udp_socket(control_bind, {}, control_local, error);
  if (control_fd_ < 0) return AIGW_ERR_IO;
  // The controller as the control socket reaches it (v4-mapped on a dual-stack socket).
  if (!to_socket_family(controller, control_local.family(), controller_)) {
    errno = EAFNOSUPPORT;
    return AIGW_ERR_IO;
  }
  gro_ = enable_udp_gro(data_fd_);
  slot_ = gro_ ? kGroMaxReceive : kPlainSlot;
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || timer_fd_ < 0 || wake_fd_ < 0) return AIGW_ERR_IO;
  for (int fd : {data_fd_, control_fd_, timer_fd_, wake_fd_})
    if (!add_epoll(epoll_fd_, fd)) return AIGW_ERR_IO;

  ServerConfig c;
  c.gpu_id = o.gpu_id;
  c.models.assign(o.models, o.models + o.model_count);
  c.capacity_units_per_s = o.capacity_units_per_s > 0 ? o.capacity_units_per_s : 1000;
  c.data_endpoint = advertise.valid() ? advertise : data_local_;
  c.control_endpoint = control_local;
  c.key_id = o.key_id;
  std::memcpy(c.key.data(), o.key, c.key.size());
  c.period_ns = (o.period_ms == 0 ? 1000 : o.period_ms) * kMs;
  c.register_every_periods = o.register_every_periods == 0 ? 10 : o.register_every_periods;
  if (o.max_unit_bytes != 0) c.receiver.max_unit_bytes = o.max_unit_bytes;
  if (o.memory_budget_bytes != 0) c.receiver.memory_budget_bytes = o.memory_budget_bytes;
  if (o.unit_deadline_ms != 0) c.receiver.unit_deadline_ns = int64_t{o.unit_deadline_ms} * kMs;
  c.receiver.allocator = BufferAllocator{o.alloc, o.free, o.alloc_user};
  c.max_held_units = o.max_held_units == 0 ? 256 : o.max_held_units;
  if (o.payload_key != nullptr) {
    c.have_payload_key = true;
    std::memcpy(c.payload_key.data(), o.payload_key, c.payload_key.size());
  }
  try {
    rx_.resize(kBatch * slot_);
    deliveries_.resize(c.max_held_units);
    core_ = std::make_unique<ServerCore>(c, static_cast<ServerOutput&>(*this), now());
  } catch (const std::bad_alloc&) {
    return AIGW_ERR_NO_MEMORY;
  }
  log_.info("server_created", "gpu_id={} data={} gro={} control={} controller={} models={} mode={}", o.gpu_id,
            c.data_endpoint.to_string(), gro_ ? "on" : "off", control_local.to_string(), controller.to_string(),
            c.models.size(), mode_ == AIGW_MODE_THREAD ? "thread" : "event_loop");
  arm_timer(now());
  if (mode_ == AIGW_MODE_THREAD) {
    try {
      thread_ = std::thread([this] { run_thread(); });
    } catch (const std::system_error&) {
      return AIGW_ERR_NO_MEMORY;
    }
  }
  return AIGW_OK;
}

int64_t Server::now() const { return clock_ != nullptr ? clock_(clock_user_) : monotonic_ns(); }

void Server::to_gateway(const UdpEndpoint& to, const uint8_t* data, size_t len) {
  // From the data socket: the gateway's egress matches acks and NACKs by that address.
  // Gateways are named in plain IPv4 form; a dual-stack socket sends to them v4-mapped.
  UdpEndpoint dest;
  if (!to_socket_family(to, data_local_.family(), dest) ||
      sendto(data_fd_, data, len, 0, dest.sa(), dest.len) < 0)
    ++send_errors_;
}

void Server::to_controller(const uint8_t* data, size_t len) {
  if (sendto(control_fd_, data, len, 0, controller_.sa(), controller_.len) < 0) ++send_errors_;
}

void Server::process_locked(int64_t now_ns) {
  uint64_t drain = 0;
  while (read(wake_fd_, &drain, sizeof drain) > 0) {
  }
  while (read(timer_fd_, &drain, sizeof drain) > 0) {
  }
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  sockaddr_storage from[kBatch];
  UdpOffloadControl control[kBatch];
  for (int turn = 0; turn < kReadTurns; ++turn) {
    for (size_t i = 0; i < kBatch; ++i) {
      iov[i] = {rx_.data() + i * slot_, slot_};
      msgs[i].msg_hdr = msghdr{};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      if (gro_) expect_gro_segment(msgs[i].msg_hdr, control[i]);
    }
    const int n = recvmmsg(data_fd_, msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      // Named as the controller names the gateway's egress (plain IPv4 even when a
      // dual-stack socket heard it v4-mapped), or its pair key would never be found.
      const UdpEndpoint ep =
          endpoint_from_sockaddr(reinterpret_cast<const sockaddr*>(&from[i]), msgs[i].msg_hdr.msg_namelen);
      const size_t segment = gro_ ? gro_segment_size(msgs[i].msg_hdr) : 0;
      for_each_gro_segment(rx_.data() + size_t(i) * slot_, msgs[i].msg_len, segment,
                           [&](const uint8_t* d, size_t len) { core_->on_data(ep, d, len, now_ns); });
    }
    if (static_cast<size_t>(n) < kBatch) break;
  }
  // The controller's PeerKeys and heartbeat answers.
  uint8_t buf[kMaxControlDatagram];
  for (int i = 0; i < 64; ++i) {
    const ssize_t n = recv(control_fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) break;
    ++control_received_;
    core_->on_control(buf, static_cast<size_t>(n));
  }
  if (core_->next_deadline_ns() <= now_ns) core_->poll(now_ns);
  arm_timer(now_ns);
  if (core_->has_ready()) ready_cv_.notify_all();
}

void Server::arm_timer(int64_t now_ns) {
  if (clock_ != nullptr) return;  // the timerfd follows CLOCK_MONOTONIC only
  const int64_t d = core_->next_deadline_ns();
  itimerspec its{};
  if (d != INT64_MAX) {
    const int64_t at = std::max(d, now_ns + 1);
    its.it_value.tv_sec = at / 1'000'000'000;
    its.it_value.tv_nsec = at % 1'000'000'000;
  }
  timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &its, nullptr);
}

void Server::wait_for_work(std::unique_lock<std::mutex>& lock, int cap_ms) {
  const int64_t t = now();
  const int64_t d = core_->next_deadline_ns();
  int timeout = cap_ms;
  if (d != INT64_MAX) timeout = static_cast<int>(std::min<int64_t>(d <= t ? 0 : (d - t + kMs - 1) / kMs, cap_ms));
  lock.unlock();
  epoll_event ev[4];
  epoll_wait(epoll_fd_, ev, 4, timeout);
  lock.lock();
}

void Server::fill(uint64_t token, aigw_unit& u) const {
  const HeldUnit* h = core_->held(token);
  u = aigw_unit{};
  u.size = sizeof(aigw_unit);
  u.token = token;
  u.stream_id = h->stream_id;
  u.unit_seq = h->unit_seq;
  u.model = core_->config().models[h->model].c_str();
  u.data = h->buffer.data() + h->offset;
  u.length = h->length;
  u.flags = h->flags;
  u.nack_rounds = h->nack_rounds;
  u.retransmitted_fragments = h->retransmitted_fragments;
  u.first_fragment_ns = h->first_fragment_ns;
  u.completed_ns = h->completed_ns;
  copy_address(h->gateway, u.gateway_address, u.gateway_port);
}

void Server::deliver(std::unique_lock<std::mutex>& lock) {
  if (on_unit_ == nullptr) return;
  size_t n = 0;
  uint64_t token = 0;
  while (n < deliveries_.size() && core_->take_ready(token)) fill(token, deliveries_[n++]);
  if (n == 0) return;
  lock.unlock();
  for (size_t i = 0; i < n; ++i) on_unit_(unit_user_, &deliveries_[i]);
  lock.lock();
}

void Server::run_thread() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    process_locked(now());
    deliver(lock);
    if (stop_) break;
    wait_for_work(lock, kThreadWaitCapMs);
  }
}

int Server::data_address(char* buf, size_t cap) {
  if (buf == nullptr) return AIGW_ERR_INVALID_ARG;
  const std::string s = data_local_.to_string();
  if (cap < s.size() + 1) return AIGW_ERR_BUFFER;
  std::memcpy(buf, s.c_str(), s.size() + 1);
  return AIGW_OK;
}

int Server::next_unit(aigw_unit* unit, int timeout_ms) {
  if (unit == nullptr || unit->size < sizeof(aigw_unit)) return unit == nullptr ? AIGW_ERR_INVALID_ARG : AIGW_ERR_STRUCT_SIZE;
  if (on_unit_ != nullptr) return AIGW_ERR_STATE;
  std::unique_lock<std::mutex> lock(mu_);
  const int64_t start = monotonic_ns();
  const int64_t limit = timeout_ms < 0 ? INT64_MAX : start + int64_t{timeout_ms} * kMs;
  for (;;) {
    uint64_t token = 0;
    if (mode_ == AIGW_MODE_EVENT_LOOP) process_locked(now());
    if (core_->take_ready(token)) {
      fill(token, *unit);
      return AIGW_OK;
    }
    const int64_t t = monotonic_ns();
    if (t >= limit || stop_) return AIGW_ERR_TIMEOUT;
    const int cap = static_cast<int>(std::min<int64_t>((limit - t + kMs - 1) / kMs, kThreadWaitCapMs));
    if (mode_ == AIGW_MODE_EVENT_LOOP) {
      wait_for_work(lock, cap);
    } else {
      ready_cv_.wait_for(lock, std::chrono::milliseconds(cap));
    }
  }
}

int Server::release(uint64_t token) {
  std::lock_guard<std::mutex> lock(mu_);
  return core_->release(token) ? AIGW_OK : AIGW_ERR_INVALID_ARG;
}

int Server::set_stream_key(uint32_t stream_id, const uint8_t* key) {
  std::lock_guard<std::mutex> lock(mu_);
  core_->set_stream_key(stream_id, key);
  return AIGW_OK;
}

int Server::report_load(double load, const aigw_model_load* models, size_t count) {
  if (!(load >= 0 && load <= 1) || (models == nullptr && count > 0)) return AIGW_ERR_INVALID_ARG;
  std::map<std::string, std::pair<uint32_t, double>> m;
  try {
    for (size_t i = 0; i < count; ++i) {
      if (models[i].model == nullptr) return AIGW_ERR_INVALID_ARG;
      m[models[i].model] = {models[i].queued_units, models[i].batch_latency_ms};
    }
  } catch (const std::bad_alloc&) {
    return AIGW_ERR_NO_MEMORY;
  }
  std::lock_guard<std::mutex> lock(mu_);
  core_->set_app_load(load, std::move(m));
  return AIGW_OK;
}

int Server::fd() { return mode_ == AIGW_MODE_EVENT_LOOP ? epoll_fd_ : AIGW_ERR_STATE; }

int Server::process(int64_t now_ns) {
  if (mode_ != AIGW_MODE_EVENT_LOOP) return AIGW_ERR_STATE;
  std::unique_lock<std::mutex> lock(mu_);
  process_locked(now_ns);
  deliver(lock);
  return AIGW_OK;
}

int64_t Server::next_deadline_ns() {
  std::lock_guard<std::mutex> lock(mu_);
  return core_->next_deadline_ns();
}

void Server::counters(aigw_server_counters& out) {
  std::lock_guard<std::mutex> lock(mu_);
  const ServerCounters& c = core_->counters();
  out.datagrams = c.datagrams;
  out.malformed = c.malformed;
  out.streams_refused = c.streams_refused;
  out.units_completed = c.units_completed;
  out.units_verified = c.units_verified;
  out.units_corrupt = c.units_corrupt;
  out.units_auth_failed = c.units_auth_failed;
  out.units_lost = c.units_lost;
  out.units_refused_held = c.units_refused_held;
  out.units_held = core_->units_held();
  out.bytes_held = core_->bytes_held();
  out.acks_sent = c.acks_sent;
  out.nacks_sent = c.nacks_sent;
  out.syncs_sent = c.syncs_sent;
  out.control_received = control_received_;
  out.send_errors = send_errors_ + c.seal_failures;
  out.last_load = core_->last_load();
  out.control_rejected = c.control_rejected;
  out.pair_keys_learned = c.pair_keys_learned;
  out.no_pair_key = c.no_pair_key;
}

}  // namespace aigw::server
