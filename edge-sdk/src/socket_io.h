// The device's sockets: one UDP control socket (admission, heartbeats, NACKs in), one
// UDP data socket (fragments out, batched with sendmmsg; runs of equal-size fragments
// to one gateway go as one UDP GSO datagram when the kernel has UDP_SEGMENT, which it
// splits into the same datagrams), a timerfd for the core's
// next deadline and an eventfd to wake the background thread, all behind one epoll
// descriptor the application (or the thread) waits on.
//
// Thread context: used with the handle's lock held, except wait() and wake().
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "edge-sdk/src/core_io.h"
#include "protocol/udp_endpoint.h"

namespace aigw::edge {

struct IoCounters {
  uint64_t control_send_errors = 0;
  uint64_t fragment_send_errors = 0;  ///< dropped by the kernel with an error (not EAGAIN)
  uint64_t send_blocked = 0;          ///< batch could not drain: socket buffer full
  uint64_t gso_sends = 0;             ///< GSO datagrams sent (each several fragments)
  uint64_t gso_fallbacks = 0;         ///< GSO refused at send time: switched it off
};

/// How fragments leave the data socket.
enum class SendPath : uint8_t {
  gso,       ///< UDP GSO (UDP_SEGMENT) over sendmmsg
  sendmmsg,  ///< one datagram per fragment (kernel without UDP_SEGMENT, or asked)
};
const char* to_string(SendPath p);

class SocketIo final : public CoreIo {
 public:
  SocketIo() = default;
  ~SocketIo() override;
  SocketIo(const SocketIo&) = delete;
  SocketIo& operator=(const SocketIo&) = delete;

  /// Binds both sockets and builds the epoll set. `max_payload` sizes the batch slots.
  /// `try_gso`: use UDP GSO when the kernel has it (probed here; see send_path()).
  /// Returns an aigw_error code (AIGW_ERR_IO with errno set on socket failures).
  int open(const UdpEndpoint& control_bind, const UdpEndpoint& data_bind, uint16_t max_payload,
           bool try_gso = true);
  SendPath send_path() const { return gso_ ? SendPath::gso : SendPath::sendmmsg; }

  const UdpEndpoint& control_local() const { return control_local_; }
  const UdpEndpoint& data_local() const { return data_local_; }
  int epoll_fd() const { return epoll_fd_; }

  /// Reads up to `max` control datagrams, calling fn(data, len) for each.
  template <typename Fn>
  size_t drain_control(Fn&& fn, size_t max = 64) {
    size_t n = 0;
    while (n < max) {
      const ssize_t len = recv(control_fd_, rx_.data(), rx_.size(), MSG_DONTWAIT);
      if (len < 0) break;
      fn(rx_.data(), static_cast<size_t>(len));
      ++n;
    }
    return n;
  }

  /// Arms the timerfd at an absolute CLOCK_MONOTONIC time (INT64_MAX disarms) and
  /// consumes any expiry already signalled.
  void arm_timer(int64_t deadline_ns);
  /// Waits for readiness of the epoll set, at most timeout_ms (-1: forever).
  void wait(int timeout_ms);
  /// Makes the epoll descriptor readable (the background thread wakes up).
  void wake();
  /// Consumes a wake() signal.
  void clear_wake();

  void send_control(const UdpEndpoint& to, const uint8_t* data, size_t len) override;
  bool send_fragment(const UdpEndpoint& to, const uint8_t* header, size_t header_len,
                     const uint8_t* payload, size_t payload_len) override;
  void flush() override;
  bool has_backlog() const { return batched_ > 0; }
  const IoCounters& counters() const { return counters_; }

 private:
  struct Slot {
    UdpEndpoint to;
    size_t len = 0;
  };
  void watch_writable(bool on);

  int control_fd_ = -1;
  int data_fd_ = -1;
  int epoll_fd_ = -1;
  int timer_fd_ = -1;
  int wake_fd_ = -1;
  bool watching_writable_ = false;
  bool gso_ = false;
  UdpEndpoint control_local_;
  UdpEndpoint data_local_;
  std::vector<uint8_t> rx_;
  size_t slot_bytes_ = 0;
  std::unique_ptr<uint8_t[]> slot_data_;
  std::vector<Slot> slots_;
  size_t batched_ = 0;
  IoCounters counters_;
};

}  // namespace aigw::edge
