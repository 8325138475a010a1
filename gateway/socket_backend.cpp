#include "gateway/socket_backend.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>

#include "gateway/udp_socket.h"
#include "protocol/log.h"

namespace aigw {

namespace {

constexpr size_t kMaxDatagram = 9216;  // jumbo frames; larger datagrams are counted and dropped
constexpr int64_t kBlockedRetryNs = 200'000;

int64_t now_ns() { return log::steady_now_ns(); }

uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

SocketBackend::SocketBackend(struct ev_loop* loop, const GatewayConfig& config, const KeyRing& keys)
    : loop_(loop), config_(config), keys_(keys) {}

SocketBackend::~SocketBackend() {
  stop();
  for (auto& p : ports_)
    if (p.fd >= 0) close(p.fd);
  if (egress_fd_ >= 0) close(egress_fd_);
}

bool SocketBackend::start(std::string& error) {
  const UdpSocketOptions opts{config_.socket_buffer_bytes, true};
  ports_.resize(config_.ports.size());
  std::vector<size_t> indices;
  std::vector<uint16_t> udp_ports;
  for (size_t i = 0; i < config_.ports.size(); ++i) {
    PortSocket& p = ports_[i];
    p.owner = this;
    p.index = i;
    p.fd = open_udp_socket(Endpoint{config_.ports[i].ip, config_.ports[i].port}, opts, p.bound, error);
    if (p.fd < 0) return false;
    indices.push_back(i);
    udp_ports.push_back(p.bound.port);
  }
  egress_fd_ = open_udp_socket(config_.egress_bind, UdpSocketOptions{config_.socket_buffer_bytes, false},
                               egress_bound_, error);
  if (egress_fd_ < 0) return false;
  PipelineEvents& events = *this;
  EgressOut& egress = *this;
  pipeline_ = std::make_unique<Pipeline>(make_pipeline_config(config_, indices, udp_ports), events, egress, keys_);

  const size_t batch = config_.socket_batch;
  slot_bytes_ = kMaxDatagram;
  rx_buf_.resize(batch * slot_bytes_);
  rx_msgs_.resize(batch);
  rx_iov_.resize(batch);
  rx_addr_.resize(batch);
  tx_buf_.resize(batch * (kDataHeaderSize + config_.egress.max_payload));
  tx_msgs_.resize(batch);
  tx_iov_.resize(batch);
  tx_addr_.resize(batch);

  for (auto& p : ports_) {
    ev_io_init(&p.io, &SocketBackend::on_data, p.fd, EV_READ);
    p.io.data = &p;
    ev_io_start(loop_, &p.io);
  }
  ev_io_init(&egress_io_, &SocketBackend::on_egress, egress_fd_, EV_READ);
  egress_io_.data = this;
  ev_io_start(loop_, &egress_io_);
  ev_init(&timer_, &SocketBackend::on_timer);
  timer_.data = this;
  ev_prepare_init(&prepare_, &SocketBackend::on_prepare);
  prepare_.data = this;
  ev_prepare_start(loop_, &prepare_);
  for (auto& p : ports_) log::info("data_port_open", "port={} backend=socket", to_string(p.bound));
  log::info("egress_open", "address={}", to_string(egress_bound_));
  return true;
}

void SocketBackend::stop() {
  if (!pipeline_) return;
  for (auto& p : ports_) ev_io_stop(loop_, &p.io);
  ev_io_stop(loop_, &egress_io_);
  ev_timer_stop(loop_, &timer_);
  ev_prepare_stop(loop_, &prepare_);
}

void SocketBackend::post(const StreamCommand& cmd) { pipeline_->apply(cmd, now_ns()); }

void SocketBackend::cpu_counters(size_t, uint64_t& busy, uint64_t& total) const {
  busy = thread_cpu_ns();
  total = static_cast<uint64_t>(now_ns());
}

void SocketBackend::on_data(struct ev_loop*, ev_io* w, int) {
  auto* p = static_cast<PortSocket*>(w->data);
  p->owner->read_port(*p);
}

void SocketBackend::on_egress(struct ev_loop*, ev_io* w, int) { static_cast<SocketBackend*>(w->data)->read_egress(); }

void SocketBackend::on_timer(struct ev_loop*, ev_timer* w, int) { static_cast<SocketBackend*>(w->data)->service(); }

void SocketBackend::on_prepare(struct ev_loop*, ev_prepare* w, int) { static_cast<SocketBackend*>(w->data)->service(); }

void SocketBackend::read_port(PortSocket& p) {
  const size_t batch = rx_msgs_.size();
  for (unsigned turn = 0; turn < config_.socket_batches_per_turn; ++turn) {
    for (size_t i = 0; i < batch; ++i) {
      rx_iov_[i] = {rx_buf_.data() + i * slot_bytes_, slot_bytes_};
      rx_msgs_[i].msg_hdr = msghdr{};
      rx_msgs_[i].msg_hdr.msg_iov = &rx_iov_[i];
      rx_msgs_[i].msg_hdr.msg_iovlen = 1;
      rx_msgs_[i].msg_hdr.msg_name = &rx_addr_[i];
      rx_msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    }
    const int n = recvmmsg(p.fd, rx_msgs_.data(), static_cast<unsigned>(batch), MSG_DONTWAIT, nullptr);
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++rx_errors_;
      break;
    }
    const int64_t now = now_ns();
    for (int i = 0; i < n; ++i) {
      const mmsghdr& m = rx_msgs_[static_cast<size_t>(i)];
      if (m.msg_hdr.msg_flags & MSG_TRUNC) {
        ++rx_oversize_;
        continue;
      }
      pipeline_->on_datagram(p.index, Endpoint::from_sockaddr(rx_addr_[static_cast<size_t>(i)]),
                             rx_buf_.data() + static_cast<size_t>(i) * slot_bytes_, m.msg_len, now);
    }
    if (static_cast<size_t>(n) < batch) break;
  }
}

void SocketBackend::read_egress() {
  uint8_t buf[2048];
  for (unsigned i = 0; i < 64; ++i) {
    sockaddr_in sa{};
    socklen_t sl = sizeof sa;
    ssize_t n = recvfrom(egress_fd_, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sa), &sl);
    if (n < 0) return;
    pipeline_->on_egress_datagram(Endpoint::from_sockaddr(sa), buf, static_cast<size_t>(n), now_ns());
  }
}

void SocketBackend::service() {
  const int64_t now = now_ns();
  tx_blocked_ = false;
  if (now >= pipeline_->next_deadline_ns()) pipeline_->poll(now);
  published_oversize_.store(rx_oversize_, std::memory_order_relaxed);
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

bool SocketBackend::send(const Endpoint& to, const uint8_t* header, const uint8_t* payload, size_t payload_len) {
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
  mmsghdr& m = tx_msgs_[tx_count_];
  m.msg_hdr = msghdr{};
  m.msg_hdr.msg_iov = &tx_iov_[tx_count_];
  m.msg_hdr.msg_iovlen = 1;
  m.msg_hdr.msg_name = &tx_addr_[tx_count_];
  m.msg_hdr.msg_namelen = sizeof(sockaddr_in);
  ++tx_count_;
  return true;
}

void SocketBackend::flush() {
  size_t sent = 0;
  while (sent < tx_count_) {
    int n = sendmmsg(egress_fd_, tx_msgs_.data() + sent, static_cast<unsigned>(tx_count_ - sent), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        tx_blocked_ = true;
        break;
      }
      if (errno == EINTR) continue;
      // A datagram the kernel refuses (e.g. unreachable): skip it, count it.
      ++tx_errors_;
      ++sent;
      continue;
    }
    sent += static_cast<size_t>(n);
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
    tx_msgs_[i].msg_hdr.msg_iov = &tx_iov_[i];
    tx_msgs_[i].msg_hdr.msg_name = &tx_addr_[i];
  }
  tx_count_ = left;
}

void SocketBackend::send_nack(const Endpoint& device_control, const NackOut& nack) {
  if (events_ != nullptr) events_->send_nack(device_control, nack);
}
void SocketBackend::unit_done(uint32_t stream_id, uint32_t unit_seq, bool delivered, uint32_t bytes,
                              LossReason reason) {
  if (events_ != nullptr) events_->unit_done(stream_id, unit_seq, delivered, bytes, reason);
}
void SocketBackend::stream_released(uint32_t stream_id, uint32_t last_unit_seq) {
  if (events_ != nullptr) events_->stream_released(stream_id, last_unit_seq);
}

void SocketBackend::render_backend_metrics(std::string& out) const {
  out += "# HELP aigw_gateway_socket_errors_total Socket-level receive and send problems\n";
  out += "# TYPE aigw_gateway_socket_errors_total counter\n";
  out += fmt::format("aigw_gateway_socket_errors_total{{reason=\"oversize\"}} {}\n",
                     published_oversize_.load(std::memory_order_relaxed));
  out += fmt::format("aigw_gateway_socket_errors_total{{reason=\"recv\"}} {}\n",
                     published_rx_errors_.load(std::memory_order_relaxed));
  out += fmt::format("aigw_gateway_socket_errors_total{{reason=\"send\"}} {}\n",
                     published_tx_errors_.load(std::memory_order_relaxed));
}

}  // namespace aigw
