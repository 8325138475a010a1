#include "sim/impair/udp_relay.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <climits>
#include <cstring>

#include <fmt/format.h>

#include "protocol/log.h"
#include "protocol/udp_socket.h"
#include "sim/common/mono_clock.h"

namespace aigw::sim {

namespace {
constexpr size_t kBatch = 32;
constexpr size_t kMaxBatchesPerEvent = 8;  // bound the work per readiness event
constexpr size_t kRxBufferSize = 65536;    // any UDP datagram fits
constexpr int64_t kIdleCheckNs = 1'000'000'000;
}  // namespace

struct UdpRelay::Session {
  ev_io io{};
  UdpRelay* relay = nullptr;
  int fd = -1;
  uint32_t slot = 0;
  uint16_t generation = 0;
  bool open = false;
  UdpEndpoint client;
  int64_t last_active_ns = 0;

  uint32_t tag() const { return slot | (uint32_t{generation} << 16); }
};

// A packet's tag names its session's slot and generation: a packet still in the
// impairment queue when its session closed (and the slot was reused) is stale.
UdpRelay::Session* UdpRelay::session_of_tag(uint32_t tag) {
  const uint32_t slot = tag & 0xffff;
  Session* s = slot < slots_.size() ? slots_[slot].get() : nullptr;
  if (!s || !s->open || s->generation != (tag >> 16)) {
    ++counters_.stale_packets;
    return nullptr;
  }
  return s;
}

class UdpRelay::ForwardSink final : public PacketSink {
 public:
  explicit ForwardSink(UdpRelay& r) : r_(r) {}
  void deliver(const uint8_t* data, size_t len, uint32_t tag) override {
    Session* s = r_.session_of_tag(tag);
    if (!s) return;
    if (send(s->fd, data, len, 0) < 0) ++r_.counters_.send_errors;
  }

 private:
  UdpRelay& r_;
};

class UdpRelay::ReverseSink final : public PacketSink {
 public:
  explicit ReverseSink(UdpRelay& r) : r_(r) {}
  void deliver(const uint8_t* data, size_t len, uint32_t tag) override {
    Session* s = r_.session_of_tag(tag);
    if (!s) return;
    if (sendto(r_.listen_fd_, data, len, 0, s->client.sa(), s->client.len) < 0)
      ++r_.counters_.send_errors;
  }

 private:
  UdpRelay& r_;
};

std::string parse_source_nat(std::string_view text, RelayConfig& config) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return fmt::format("\"{}\": expected a.b.c.d/prefix", text);
  in_addr a{};
  const std::string host(text.substr(0, slash));
  if (inet_pton(AF_INET, host.c_str(), &a) != 1) return fmt::format("\"{}\": not an IPv4 address", host);
  unsigned prefix = 0;
  const std::string_view p = text.substr(slash + 1);
  const auto r = std::from_chars(p.data(), p.data() + p.size(), prefix);
  if (r.ec != std::errc() || r.ptr != p.data() + p.size() || prefix < 8 || prefix > 30)
    return fmt::format("\"{}\": prefix must be 8..30", text);
  const uint32_t mask = ~uint32_t{0} << (32 - prefix);
  config.source_nat_net = ntohl(a.s_addr) & mask;
  config.source_nat_prefix = static_cast<uint8_t>(prefix);
  return {};
}

bool UdpRelay::ClientKey::operator==(const ClientKey& o) const {
  return std::memcmp(bytes, o.bytes, sizeof bytes) == 0;
}

size_t UdpRelay::ClientKeyHash::operator()(const ClientKey& k) const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (uint8_t b : k.bytes) h = (h ^ b) * 1099511628211ull;
  return static_cast<size_t>(h);
}

UdpRelay::ClientKey UdpRelay::key_of(const sockaddr_storage& a) {
  ClientKey k;
  k.bytes[0] = static_cast<uint8_t>(a.ss_family);
  if (a.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
    std::memcpy(k.bytes + 2, &v4.sin_port, 2);
    std::memcpy(k.bytes + 4, &v4.sin_addr, 4);
  } else if (a.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
    std::memcpy(k.bytes + 2, &v6.sin6_port, 2);
    std::memcpy(k.bytes + 4, &v6.sin6_addr, 16);
  }
  return k;
}

UdpRelay::UdpRelay(struct ev_loop* loop, RelayConfig config)
    : loop_(loop),
      config_(std::move(config)),
      forward_(config_.forward),
      reverse_(config_.reverse),
      forward_sink_(std::make_unique<ForwardSink>(*this)),
      reverse_sink_(std::make_unique<ReverseSink>(*this)) {
  config_.max_sessions = std::clamp<size_t>(config_.max_sessions, 1, 65535);
  slots_.resize(config_.max_sessions);
  free_slots_.reserve(config_.max_sessions);
  for (size_t i = config_.max_sessions; i-- > 0;) free_slots_.push_back(static_cast<uint32_t>(i));
}

UdpRelay::~UdpRelay() {
  for (size_t i = 0; i < slots_.size(); ++i)
    if (slots_[i] && slots_[i]->open) close_session(static_cast<uint32_t>(i));
  if (listen_fd_ >= 0) {
    ev_io_stop(loop_, &listen_watcher_);
    close(listen_fd_);
  }
  ev_timer_stop(loop_, &timer_);
  ev_async_stop(loop_, &stop_);
}

std::string UdpRelay::start() {
  if (!config_.upstream.valid()) return "no upstream endpoint";
  std::string error;
  if (config_.source_nat_prefix && config_.upstream.family() != AF_INET) return "source NAT needs an IPv4 upstream";
  UdpSocketOptions listen_options;
  listen_options.buffer_bytes = config_.socket_buffer_bytes;
  listen_options.reuse_port = config_.share_listen_port;
  UdpEndpoint bound;
  listen_fd_ = open_udp_socket(config_.listen, listen_options, bound, error);
  if (listen_fd_ < 0) return error;
  rx_buffer_size_ = kRxBufferSize;
  rx_buffers_.resize(kBatch * rx_buffer_size_);
  ev_io_init(&listen_watcher_, &UdpRelay::on_listen_readable, listen_fd_, EV_READ);
  listen_watcher_.data = this;
  ev_io_start(loop_, &listen_watcher_);
  ev_init(&timer_, &UdpRelay::on_timer);
  timer_.data = this;
  ev_async_init(&stop_, &UdpRelay::on_stop);
  stop_.data = this;
  ev_async_start(loop_, &stop_);
  next_idle_check_ns_ = mono_now_ns() + kIdleCheckNs;
  pump(mono_now_ns());
  return {};
}

void UdpRelay::request_stop() { ev_async_send(loop_, &stop_); }

UdpEndpoint UdpRelay::listen_endpoint() const { return local_endpoint(listen_fd_); }

UdpRelay::Session* UdpRelay::session_for(const sockaddr_storage& from, socklen_t len, int64_t now_ns) {
  const ClientKey key = key_of(from);
  if (auto it = by_client_.find(key); it != by_client_.end()) {
    Session* s = slots_[it->second].get();
    s->last_active_ns = now_ns;
    return s;
  }
  if (free_slots_.empty()) {
    ++counters_.sessions_rejected;
    return nullptr;
  }
  // Upstream socket of the same family as the upstream, on any local port, or at the
  // client's translated address and port.
  UdpEndpoint local;
  make_endpoint(config_.upstream.family() == AF_INET6 ? "::" : "0.0.0.0", 0, local);
  if (config_.upstream.is_loopback())
    make_endpoint(config_.upstream.family() == AF_INET6 ? "::1" : "127.0.0.1", 0, local);
  std::string error;
  if (config_.source_nat_prefix) {
    if (from.ss_family != AF_INET) {
      ++counters_.sessions_rejected;
      return nullptr;
    }
    const auto& c = reinterpret_cast<const sockaddr_in&>(from);
    const uint32_t host_mask = ~(~uint32_t{0} << (32 - config_.source_nat_prefix));
    sockaddr_in nat = c;
    nat.sin_addr.s_addr = htonl(config_.source_nat_net | (ntohl(c.sin_addr.s_addr) & host_mask));
    std::memcpy(&local.addr, &nat, sizeof nat);
    local.len = sizeof nat;
  }
  UdpSocketOptions options;
  options.buffer_bytes = config_.socket_buffer_bytes;
  options.reuse_port = config_.source_nat_prefix != 0;
  UdpEndpoint bound;
  const int fd = open_udp_socket(local, options, bound, error);
  if (fd < 0 || connect(fd, config_.upstream.sa(), config_.upstream.len) != 0) {
    if (fd >= 0) close(fd);
    ++counters_.sessions_rejected;
    AIGW_WARN_RATE_LIMITED(1000, "session_open_failed", "error=\"{}\"", error);
    return nullptr;
  }
  const uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  auto& p = slots_[slot];
  const uint16_t generation = p ? static_cast<uint16_t>(p->generation + 1) : 0;
  if (!p) p = std::make_unique<Session>();
  Session* s = p.get();
  s->relay = this;
  s->fd = fd;
  s->slot = slot;
  s->generation = generation;
  s->open = true;
  std::memcpy(&s->client.addr, &from, len);
  s->client.len = len;
  s->last_active_ns = now_ns;
  ev_io_init(&s->io, &UdpRelay::on_session_readable, fd, EV_READ);
  s->io.data = s;
  ev_io_start(loop_, &s->io);
  by_client_.emplace(key, slot);
  ++counters_.sessions_opened;
  log::debug("session_open", "client={} upstream_local={}", s->client.to_string(),
             bound.to_string());
  return s;
}

void UdpRelay::close_session(uint32_t slot) {
  Session* s = slots_[slot].get();
  ev_io_stop(loop_, &s->io);
  close(s->fd);
  s->fd = -1;
  s->open = false;
  by_client_.erase(key_of(s->client.addr));
  free_slots_.push_back(slot);
}

void UdpRelay::expire_idle(int64_t now_ns) {
  for (size_t i = 0; i < slots_.size(); ++i) {
    Session* s = slots_[i].get();
    if (s && s->open && now_ns - s->last_active_ns > config_.session_idle_ns) {
      close_session(static_cast<uint32_t>(i));
      ++counters_.sessions_expired;
    }
  }
  next_idle_check_ns_ = now_ns + kIdleCheckNs;
}

void UdpRelay::pump(int64_t now_ns) {
  forward_.release(now_ns, *forward_sink_);
  reverse_.release(now_ns, *reverse_sink_);
  if (now_ns >= next_idle_check_ns_) expire_idle(now_ns);
  const int64_t next =
      std::min({forward_.next_release_ns(), reverse_.next_release_ns(), next_idle_check_ns_});
  ev_timer_stop(loop_, &timer_);
  ev_timer_set(&timer_, static_cast<double>(std::max<int64_t>(0, next - now_ns)) / 1e9, 0.);
  ev_timer_start(loop_, &timer_);
}

void UdpRelay::read_batch(int fd, Session* session) {
  mmsghdr msgs[kBatch];
  iovec iovs[kBatch];
  sockaddr_storage from[kBatch];
  for (size_t batch = 0; batch < kMaxBatchesPerEvent; ++batch) {
    for (size_t i = 0; i < kBatch; ++i) {
      iovs[i] = {rx_buffers_.data() + i * rx_buffer_size_, rx_buffer_size_};
      msgs[i].msg_hdr = msghdr{};
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    const int n = recvmmsg(fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++counters_.recv_errors;
      break;
    }
    const int64_t now = mono_now_ns();
    for (int i = 0; i < n; ++i) {
      if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
        ++counters_.truncated;
        continue;
      }
      const uint8_t* data = rx_buffers_.data() + size_t(i) * rx_buffer_size_;
      if (session) {
        session->last_active_ns = now;
        reverse_.submit(data, msgs[i].msg_len, session->tag(), now);
      } else if (Session* s = session_for(from[i], msgs[i].msg_hdr.msg_namelen, now)) {
        forward_.submit(data, msgs[i].msg_len, s->tag(), now);
      }
    }
    pump(now);
    if (static_cast<size_t>(n) < kBatch) break;
  }
}

void UdpRelay::on_listen_readable(struct ev_loop*, ev_io* w, int) {
  auto* self = static_cast<UdpRelay*>(w->data);
  self->read_batch(self->listen_fd_, nullptr);
}

void UdpRelay::on_session_readable(struct ev_loop*, ev_io* w, int) {
  auto* s = static_cast<Session*>(w->data);
  s->relay->read_batch(s->fd, s);
}

void UdpRelay::on_timer(struct ev_loop*, ev_timer* w, int) {
  static_cast<UdpRelay*>(w->data)->pump(mono_now_ns());
}

void UdpRelay::on_stop(struct ev_loop* loop, ev_async*, int) { ev_break(loop, EVBREAK_ALL); }

}  // namespace aigw::sim
