#include "gateway/backend/socket/socket_worker.h"

#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>

#include "protocol/log.h"
#include "protocol/udp_offload.h"
#include "protocol/udp_socket.h"

namespace aigw {

namespace {

constexpr size_t kMaxDatagram = 9216;  // jumbo frames; larger datagrams are counted and dropped
constexpr int64_t kBlockedRetryNs = 200'000;
constexpr size_t kCommandRing = 1024;

int64_t now_ns() { return log::steady_now_ns(); }

bool same_address(const sockaddr_in& a, const sockaddr_in& b) {
  return a.sin_addr.s_addr == b.sin_addr.s_addr && a.sin_port == b.sin_port;
}

uint64_t clock_ns(clockid_t clock) {
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

SocketWorker::SocketWorker(const GatewayConfig& config, const KeySource& keys, PipelineEvents& events)
    : config_(config), keys_(keys), events_(events) {}

SocketWorker::~SocketWorker() {
  stop_thread();
  detach();
  for (auto& p : ports_)
    if (p.fd >= 0) close(p.fd);
  if (egress_fd_ >= 0) close(egress_fd_);
}

bool SocketWorker::open(const std::vector<Ipv4Endpoint>& data, const Ipv4Endpoint& egress, size_t index, size_t count,
                        std::string& error) {
  // Every worker binds the same data ports; SO_REUSEPORT spreads the flows over them.
  const UdpSocketOptions data_opts{.buffer_bytes = config_.socket_buffer_bytes, .reuse_port = true};
  ports_.resize(data.size());
  std::vector<size_t> indices;
  std::vector<uint16_t> udp_ports;
  UdpEndpoint bound;
  for (size_t i = 0; i < data.size(); ++i) {
    PortSocket& p = ports_[i];
    p.owner = this;
    p.index = i;
    p.fd = open_udp_socket(to_udp(data[i]), data_opts, bound, error);
    if (p.fd < 0) return false;
    to_ipv4(bound, p.bound);  // an IPv4 bind is bound IPv4
    p.gro = config_.socket_gro && enable_udp_gro(p.fd);
    indices.push_back(i);
    udp_ports.push_back(p.bound.port);
  }
  egress_fd_ = open_udp_socket(to_udp(egress), {.buffer_bytes = config_.socket_buffer_bytes}, bound, error);
  if (egress_fd_ < 0) return false;
  to_ipv4(bound, egress_bound_);
  gso_ = gso_at_open_ = config_.socket_gso && udp_gso_available(egress_fd_);
  EgressOut& out = *this;
  PipelineConfig pc = make_pipeline_config(config_, indices, udp_ports);
  pc.envelopes_not_before = envelope_counter_start() - kMaxClockSkewNs;
  for (PipelinePort& p : pc.data_ports) {
    p.memory_budget_bytes /= count;
    p.counts_streams = index == 0;
  }
  pipeline_ = std::make_unique<Pipeline>(pc, events_, out, keys_);

  const size_t batch = config_.socket_batch;
  const bool gro = std::any_of(ports_.begin(), ports_.end(), [](const PortSocket& p) { return p.gro; });
  slot_bytes_ = gro ? kGroMaxReceive : kMaxDatagram;
  rx_buf_.resize(batch * slot_bytes_);
  rx_control_.resize(batch);
  rx_msgs_.resize(batch);
  rx_iov_.resize(batch);
  rx_addr_.resize(batch);
  tx_buf_.resize(batch * (kDataHeaderSize + config_.egress.max_payload));
  tx_msgs_.resize(batch);
  tx_control_.resize(batch);
  tx_runs_.resize(batch);
  tx_iov_.resize(batch);
  tx_addr_.resize(batch);
  return true;
}

void SocketWorker::attach(struct ev_loop* loop) {
  loop_ = loop;
  for (auto& p : ports_) {
    ev_io_init(&p.io, &SocketWorker::on_data, p.fd, EV_READ);
    p.io.data = &p;
    ev_io_start(loop_, &p.io);
  }
  ev_io_init(&egress_io_, &SocketWorker::on_egress, egress_fd_, EV_READ);
  egress_io_.data = this;
  ev_io_start(loop_, &egress_io_);
  ev_init(&timer_, &SocketWorker::on_timer);
  timer_.data = this;
  ev_prepare_init(&prepare_, &SocketWorker::on_prepare);
  prepare_.data = this;
  ev_prepare_start(loop_, &prepare_);
}

void SocketWorker::detach() {
  if (loop_ == nullptr) return;
  for (auto& p : ports_) ev_io_stop(loop_, &p.io);
  ev_io_stop(loop_, &egress_io_);
  ev_timer_stop(loop_, &timer_);
  ev_prepare_stop(loop_, &prepare_);
  loop_ = nullptr;
}

void SocketWorker::apply(const StreamCommand& cmd) { pipeline_->apply(cmd, now_ns()); }

bool SocketWorker::start_thread(std::function<void()> turn_end, std::string& error) {
  own_loop_ = ev_loop_new(EVFLAG_AUTO);
  if (own_loop_ == nullptr) {
    error = "cannot create an event loop for a socket worker";
    return false;
  }
  turn_end_ = std::move(turn_end);
  commands_ = std::make_unique<SpscRing<StreamCommand>>(kCommandRing);
  ev_async_init(&wake_, &SocketWorker::on_wake);
  wake_.data = this;
  ev_async_start(own_loop_, &wake_);
  attach(own_loop_);
  thread_ = std::thread([this] { ev_run(own_loop_, 0); });
  return true;
}

bool SocketWorker::post(const StreamCommand& cmd) {
  // Before the thread starts (static streams at start-up, any number of them) or after
  // it stopped, nothing else touches the pipeline.
  if (!thread_.joinable()) {
    apply(cmd);
    return true;
  }
  if (!commands_->push(cmd)) return false;
  ev_async_send(own_loop_, &wake_);
  return true;
}

void SocketWorker::stop_thread() {
  if (own_loop_ == nullptr) return;
  if (thread_.joinable()) {
    stop_.store(true, std::memory_order_release);
    ev_async_send(own_loop_, &wake_);
    thread_.join();
  }
  detach();
  ev_async_stop(own_loop_, &wake_);
  ev_loop_destroy(own_loop_);
  own_loop_ = nullptr;
}

uint64_t SocketWorker::cpu_ns() const {
  if (!thread_.joinable()) return clock_ns(CLOCK_THREAD_CPUTIME_ID);  // shared loop: the caller's thread
  clockid_t clock;
  // The handle is valid while the thread is joinable; the std::thread is only joined
  // on the agent's thread, which is also the only caller.
  if (pthread_getcpuclockid(const_cast<std::thread&>(thread_).native_handle(), &clock) != 0) return 0;
  return clock_ns(clock);
}

void SocketWorker::on_wake(struct ev_loop* loop, ev_async* w, int) {
  auto* self = static_cast<SocketWorker*>(w->data);
  if (self->stop_.load(std::memory_order_acquire)) {
    ev_break(loop, EVBREAK_ALL);
    return;
  }
  self->drain_commands();
}

void SocketWorker::drain_commands() {
  for (const StreamCommand* c; (c = commands_->front()) != nullptr; commands_->pop()) pipeline_->apply(*c, now_ns());
}

void SocketWorker::on_data(struct ev_loop*, ev_io* w, int) {
  auto* p = static_cast<PortSocket*>(w->data);
  p->owner->read_port(*p);
}

void SocketWorker::on_egress(struct ev_loop*, ev_io* w, int) { static_cast<SocketWorker*>(w->data)->read_egress(); }

void SocketWorker::on_timer(struct ev_loop*, ev_timer* w, int) { static_cast<SocketWorker*>(w->data)->service(); }

void SocketWorker::on_prepare(struct ev_loop*, ev_prepare* w, int) {
  auto* self = static_cast<SocketWorker*>(w->data);
  self->service();
  if (self->turn_end_) self->turn_end_();
}

void SocketWorker::read_port(PortSocket& p) {
  const size_t batch = rx_msgs_.size();
  p.backlog = true;
  for (unsigned turn = 0; turn < config_.socket_batches_per_turn; ++turn) {
    for (size_t i = 0; i < batch; ++i) {
      rx_iov_[i] = {rx_buf_.data() + i * slot_bytes_, slot_bytes_};
      rx_msgs_[i].msg_hdr = msghdr{};
      rx_msgs_[i].msg_hdr.msg_iov = &rx_iov_[i];
      rx_msgs_[i].msg_hdr.msg_iovlen = 1;
      rx_msgs_[i].msg_hdr.msg_name = &rx_addr_[i];
      rx_msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      if (p.gro) expect_gro_segment(rx_msgs_[i].msg_hdr, rx_control_[i]);
    }
    const int n = recvmmsg(p.fd, rx_msgs_.data(), static_cast<unsigned>(batch), MSG_DONTWAIT, nullptr);
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++rx_errors_;
      p.backlog = false;
      break;
    }
    const int64_t now = now_ns();
    for (int i = 0; i < n; ++i) {
      const mmsghdr& m = rx_msgs_[static_cast<size_t>(i)];
      if (m.msg_hdr.msg_flags & MSG_TRUNC) {
        ++rx_oversize_;
        continue;
      }
      const Ipv4Endpoint from = Ipv4Endpoint::from_sockaddr(rx_addr_[static_cast<size_t>(i)]);
      const size_t segment = p.gro ? gro_segment_size(m.msg_hdr) : 0;
      const size_t n_segments = for_each_gro_segment(
          rx_buf_.data() + static_cast<size_t>(i) * slot_bytes_, m.msg_len, segment,
          [&](const uint8_t* d, size_t len) { pipeline_->on_datagram(p.index, from, d, len, now); });
      if (n_segments > 1) rx_gro_segments_ += n_segments;
    }
    if (static_cast<size_t>(n) < batch) {
      p.backlog = false;
      break;
    }
  }
}

void SocketWorker::read_egress() {
  uint8_t buf[2048];
  for (unsigned i = 0; i < 64; ++i) {
    sockaddr_in sa{};
    socklen_t sl = sizeof sa;
    ssize_t n = recvfrom(egress_fd_, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sa), &sl);
    if (n < 0) return;
    pipeline_->on_egress_datagram(Ipv4Endpoint::from_sockaddr(sa), buf, static_cast<size_t>(n), now_ns());
  }
}

void SocketWorker::service() {
  const int64_t now = now_ns();
  tx_blocked_ = false;
  if (now >= pipeline_->next_deadline_ns()) {
    // Fragments already in the socket buffer arrived before now: take them before the
    // receiver's timers judge a unit quiet, or a gateway that was descheduled NACKs
    // what it has not read yet (bounded: a few turns per port; one recvmmsg when empty).
    for (PortSocket& p : ports_) {
      read_port(p);
      for (int k = 0; k < 3 && p.backlog; ++k) read_port(p);
    }
    pipeline_->poll(now_ns());
  }
  published_oversize_.store(rx_oversize_, std::memory_order_relaxed);
  published_gro_segments_.store(rx_gro_segments_, std::memory_order_relaxed);
  published_gso_sends_.store(tx_gso_sends_, std::memory_order_relaxed);
  published_rx_errors_.store(rx_errors_, std::memory_order_relaxed);
  published_tx_errors_.store(tx_errors_, std::memory_order_relaxed);
  int64_t next = pipeline_->next_deadline_ns();
  if (tx_blocked_) next = now + kBlockedRetryNs;
  if (next == INT64_MAX) {
    ev_timer_stop(loop_, &timer_);
    return;
  }
  const double after = next <= now ? 0.0 : static_cast<double>(next - now) * 1e-9;
  ev_timer_stop(loop_, &timer_);
  ev_timer_set(&timer_, after, 0.0);
  ev_timer_start(loop_, &timer_);
}

bool SocketWorker::send(const Ipv4Endpoint& to, const uint8_t* header, const uint8_t* payload, size_t payload_len,
                        uint32_t /*payload_sum: the kernel sums*/) {
  if (tx_blocked_) return false;
  if (tx_count_ == tx_msgs_.size()) {
    flush();
    if (tx_count_ != 0) return false;
  }
  const size_t slot = kDataHeaderSize + config_.egress.max_payload;
  if (payload_len > config_.egress.max_payload) {
    ++tx_errors_;
    return true;  // cannot happen with the sender's own max_payload; never wedge on it
  }
  uint8_t* b = tx_buf_.data() + tx_count_ * slot;
  std::memcpy(b, header, kDataHeaderSize);
  std::memcpy(b + kDataHeaderSize, payload, payload_len);
  tx_iov_[tx_count_] = {b, kDataHeaderSize + payload_len};
  tx_addr_[tx_count_] = to.to_sockaddr();
  ++tx_count_;
  return true;
}

void SocketWorker::flush() {
  size_t sent = 0;  // datagrams
  while (sent < tx_count_) {
    // One message per run of fragments to one GPU server: with GSO a run of equal-size
    // fragments (a unit's, or several units' to the same server) is one send.
    size_t messages = 0;
    for (size_t i = sent; i < tx_count_; ++messages) {
      const size_t run =
          gso_ ? gso_run(
                     i, tx_count_, [&](size_t k) { return tx_iov_[k].iov_len; },
                     [&](size_t a, size_t b) { return same_address(tx_addr_[a], tx_addr_[b]); })
               : 1;
      msghdr& h = tx_msgs_[messages].msg_hdr;
      h = msghdr{};
      h.msg_iov = &tx_iov_[i];
      h.msg_iovlen = run;
      h.msg_name = &tx_addr_[i];
      h.msg_namelen = sizeof(sockaddr_in);
      if (run > 1) set_gso_segment(h, tx_control_[messages], static_cast<uint16_t>(tx_iov_[i].iov_len));
      tx_runs_[messages] = run;
      i += run;
    }
    const int n = sendmmsg(egress_fd_, tx_msgs_.data(), static_cast<unsigned>(messages), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        tx_blocked_ = true;
        break;
      }
      if (errno == EINTR) continue;
      if (tx_runs_[0] > 1 && (errno == EIO || errno == EINVAL || errno == EOPNOTSUPP)) {
        // The route refuses GSO (no checksum offload on the device): one datagram per
        // fragment from now on; the batch goes again, nothing is lost.
        gso_ = false;
        published_gso_refused_.store(true, std::memory_order_relaxed);
        log::warn("udp_gso_refused", "egress={} errno={} fallback=sendmmsg", to_string(egress_bound_), errno);
        continue;
      }
      // A datagram the kernel refuses (e.g. unreachable): skip it, count it.
      tx_errors_ += tx_runs_[0];
      sent += tx_runs_[0];
      continue;
    }
    for (int k = 0; k < n; ++k) {
      sent += tx_runs_[static_cast<size_t>(k)];
      if (tx_runs_[static_cast<size_t>(k)] > 1) ++tx_gso_sends_;
    }
  }
  if (sent == tx_count_) {
    tx_count_ = 0;
    return;
  }
  // Keep the unsent tail for the next flush, packed at the front.
  const size_t left = tx_count_ - sent;
  const size_t slot = kDataHeaderSize + config_.egress.max_payload;
  for (size_t i = 0; i < left; ++i) {
    std::memmove(tx_buf_.data() + i * slot, tx_iov_[sent + i].iov_base, tx_iov_[sent + i].iov_len);
    tx_iov_[i] = {tx_buf_.data() + i * slot, tx_iov_[sent + i].iov_len};
    tx_addr_[i] = tx_addr_[sent + i];
  }
  tx_count_ = left;
}

}  // namespace aigw
