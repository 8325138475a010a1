#include "edge-sdk/src/socket_io.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "aigw/edge_error.h"
#include "protocol/data_header.h"
#include "protocol/envelope.h"
#include "protocol/udp_offload.h"
#include "protocol/udp_socket.h"

namespace aigw::edge {

namespace {

constexpr size_t kBatch = 64;            // fragments per sendmmsg
constexpr int kSendBuffer = 4 << 20;     // a few units' worth of fragments in the kernel

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

}  // namespace

const char* to_string(SendPath p) { return p == SendPath::gso ? "gso" : "sendmmsg"; }

SocketIo::~SocketIo() {
  flush();
  close_fd(control_fd_);
  close_fd(data_fd_);
  close_fd(timer_fd_);
  close_fd(wake_fd_);
  close_fd(epoll_fd_);
}

int SocketIo::open(const UdpEndpoint& control_bind, const UdpEndpoint& data_bind, uint16_t max_payload,
                   bool try_gso) {
  std::string error;  // the C ABI reports the code and errno, which open_udp_socket keeps
  control_fd_ = open_udp_socket(control_bind, {}, control_local_, error);
  if (control_fd_ < 0) return AIGW_ERR_IO;
  data_fd_ = open_udp_socket(data_bind, {}, data_local_, error);
  if (data_fd_ < 0) return AIGW_ERR_IO;
  // Plain SO_SNDBUF, within net.core.wmem_max even as root: send_buffer_bytes would
  // force it past the cap the device's administrator set.
  setsockopt(data_fd_, SOL_SOCKET, SO_SNDBUF, &kSendBuffer, sizeof kSendBuffer);
  gso_ = try_gso && udp_gso_available(data_fd_);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || timer_fd_ < 0 || wake_fd_ < 0) return AIGW_ERR_IO;
  for (int fd : {control_fd_, timer_fd_, wake_fd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return AIGW_ERR_IO;
  }
  epoll_event ev{};  // writability of the data socket is watched only while backlogged
  ev.data.fd = data_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, data_fd_, &ev) != 0) return AIGW_ERR_IO;
  rx_.resize(kMaxControlDatagram);
  slot_bytes_ = kDataHeaderSize + max_payload;
  slot_data_.reset(new uint8_t[slot_bytes_ * kBatch]);
  slots_.resize(kBatch);
  return AIGW_OK;
}

void SocketIo::arm_timer(int64_t deadline_ns) {
  uint64_t expirations = 0;
  while (read(timer_fd_, &expirations, sizeof expirations) > 0) {
  }
  itimerspec spec{};
  if (deadline_ns != INT64_MAX) {
    // A zero it_value would disarm the timer: a deadline at or before 0 fires at 1 ns.
    const int64_t t = deadline_ns > 0 ? deadline_ns : 1;
    spec.it_value.tv_sec = t / 1'000'000'000;
    spec.it_value.tv_nsec = t % 1'000'000'000;
  }
  timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void SocketIo::wait(int timeout_ms) {
  epoll_event evs[8];
  epoll_wait(epoll_fd_, evs, 8, timeout_ms);
}

void SocketIo::wake() {
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

void SocketIo::clear_wake() {
  uint64_t v = 0;
  while (read(wake_fd_, &v, sizeof v) > 0) {
  }
}

void SocketIo::send_control(const UdpEndpoint& to, const uint8_t* data, size_t len) {
  if (sendto(control_fd_, data, len, 0, to.sa(), to.len) < 0) ++counters_.control_send_errors;
}

bool SocketIo::send_fragment(const UdpEndpoint& to, const uint8_t* header, size_t header_len,
                             const uint8_t* payload, size_t payload_len) {
  if (header_len + payload_len > slot_bytes_) {
    ++counters_.fragment_send_errors;
    return true;  // cannot happen with the sender's max_payload; never retry it
  }
  if (batched_ == kBatch) {
    flush();
    if (batched_ == kBatch) {
      ++counters_.send_blocked;
      return false;
    }
  }
  Slot& s = slots_[batched_];
  uint8_t* buf = slot_data_.get() + batched_ * slot_bytes_;
  std::memcpy(buf, header, header_len);
  std::memcpy(buf + header_len, payload, payload_len);
  s.to = to;
  s.len = header_len + payload_len;
  ++batched_;
  return true;
}

void SocketIo::flush() {
  size_t done = 0;
  while (done < batched_) {
    // One message per run of fragments to the same gateway: with GSO a run of equal
    // lengths (the last may be shorter, as the kernel allows) is one datagram carrying
    // up to kBatch fragments; without, every fragment is its own message.
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    size_t runs[kBatch];  // fragments per message
    UdpOffloadControl control[kBatch];
    size_t m = 0;
    for (size_t i = done; i < batched_; ++m) {
      const Slot& first = slots_[i];
      const size_t n = gso_ ? gso_run(
                                  i, batched_, [&](size_t k) { return slots_[k].len; },
                                  [&](size_t a, size_t b) { return slots_[a].to == slots_[b].to; })
                            : 1;
      std::memset(&msgs[m], 0, sizeof msgs[m]);
      for (size_t k = 0; k < n; ++k) {
        iov[i - done + k].iov_base = slot_data_.get() + (i + k) * slot_bytes_;
        iov[i - done + k].iov_len = slots_[i + k].len;
      }
      msghdr& h = msgs[m].msg_hdr;
      h.msg_name = const_cast<sockaddr*>(first.to.sa());
      h.msg_namelen = first.to.len;
      h.msg_iov = &iov[i - done];
      h.msg_iovlen = n;
      if (n > 1) set_gso_segment(h, control[m], static_cast<uint16_t>(first.len));
      runs[m] = n;
      i += n;
    }
    const int sent = sendmmsg(data_fd_, msgs, static_cast<unsigned>(m), 0);
    if (sent > 0) {
      for (int k = 0; k < sent; ++k) {
        done += runs[k];
        if (runs[k] > 1) ++counters_.gso_sends;
      }
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      break;  // kept; sent when the socket drains (EPOLLOUT)
    } else if (runs[0] > 1 && (errno == EIO || errno == EINVAL || errno == EOPNOTSUPP)) {
      // The route refuses GSO (e.g. no checksum offload): one datagram per fragment
      // from now on; nothing is lost, the batch goes again.
      gso_ = false;
      ++counters_.gso_fallbacks;
    } else if (errno != EINTR) {
      done += runs[0];  // cannot be sent (e.g. unreachable): the NACK path recovers it
      counters_.fragment_send_errors += runs[0];
    }
  }
  if (done > 0 && done < batched_) {
    std::memmove(slot_data_.get(), slot_data_.get() + done * slot_bytes_,
                 (batched_ - done) * slot_bytes_);
    for (size_t i = done; i < batched_; ++i) slots_[i - done] = slots_[i];
  }
  batched_ -= done;
  watch_writable(batched_ > 0);
}

void SocketIo::watch_writable(bool on) {
  if (on == watching_writable_) return;
  epoll_event ev{};
  ev.events = on ? static_cast<uint32_t>(EPOLLOUT) : 0u;
  ev.data.fd = data_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, data_fd_, &ev);
  watching_writable_ = on;
}

}  // namespace aigw::edge
