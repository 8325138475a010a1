// The UDP relay of aigw-impair: clients send to `listen`; each client gets its own
// upstream socket (a session), so replies from `upstream` find their way back. Packets
// client->upstream pass the `forward` impairment, upstream->client the `reverse` one.
// Runs on a libev loop given by the caller; time comes from the monotonic clock at the
// edge and is passed into the impairment cores.
#pragma once

#include <ev.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/udp_endpoint.h"
#include "sim/impair/impairment.h"

namespace aigw::sim {

struct RelayConfig {
  UdpEndpoint listen;                    ///< port 0: pick a free port (see listen_endpoint())
  UdpEndpoint upstream;
  ImpairmentConfig forward;           ///< client -> upstream
  ImpairmentConfig reverse;           ///< upstream -> client
  /// Bind `listen` with SO_REUSEPORT, so the relay can take one specific address of a
  /// port that a server holds on the wildcard address (also with SO_REUSEPORT, same
  /// user): datagrams to that address reach the relay, as the kernel prefers the exact
  /// match, and everything else the server. The simulator stands a relay in front of a
  /// gateway's data port this way.
  bool share_listen_port = false;
  /// 1:1 source NAT (IPv4, off with prefix 0): each session's upstream socket is bound to
  /// `source_nat_net` with the client address's host bits and the client's port, so
  /// with 127.2.0.0/16 the upstream sees client 127.3.0.9:P as 127.2.0.9:P — a source
  /// the client knows in advance and can announce (the gateway's source check). Bound
  /// with SO_REUSEPORT: two relays may translate the same client.
  uint32_t source_nat_net = 0;        ///< host byte order
  uint8_t source_nat_prefix = 0;
  int64_t session_idle_ns = 60'000'000'000;
  size_t max_sessions = 4096;         ///< at most 65535 (tags carry 16-bit slots)
  int socket_buffer_bytes = 4 << 20;
};

/// Parses "a.b.c.d/prefix" (prefix 8..30) into RelayConfig's source-NAT fields. "" or the problem.
std::string parse_source_nat(std::string_view text, RelayConfig& config);

struct RelayCounters {
  uint64_t sessions_opened = 0;
  uint64_t sessions_expired = 0;
  uint64_t sessions_rejected = 0;     ///< max_sessions reached: packet dropped
  uint64_t stale_packets = 0;         ///< released after their session expired
  uint64_t truncated = 0;             ///< datagram larger than the receive buffer
  uint64_t send_errors = 0;
  uint64_t recv_errors = 0;
};

/// \threadbound Everything runs on the loop's thread except request_stop().
class UdpRelay {
 public:
  UdpRelay(struct ev_loop* loop, RelayConfig config);
  ~UdpRelay();
  UdpRelay(const UdpRelay&) = delete;
  UdpRelay& operator=(const UdpRelay&) = delete;

  /// Opens the listening socket and registers the watchers. "" or the error.
  std::string start();
  /// Thread-safe: breaks the loop from any thread (e.g. a signal or a test).
  void request_stop();

  UdpEndpoint listen_endpoint() const;
  size_t sessions() const { return by_client_.size(); }
  const ImpairCounters& forward_counters() const { return forward_.counters(); }
  const ImpairCounters& reverse_counters() const { return reverse_.counters(); }
  const RelayCounters& counters() const { return counters_; }

 private:
  struct Session;
  struct ClientKey {
    uint8_t bytes[20] = {};  // family, port, address: enough to tell clients apart
    bool operator==(const ClientKey& o) const;
  };
  struct ClientKeyHash {
    size_t operator()(const ClientKey& k) const;
  };
  class ForwardSink;
  class ReverseSink;

  static ClientKey key_of(const sockaddr_storage& a);
  static void on_listen_readable(struct ev_loop* loop, ev_io* w, int revents);
  static void on_session_readable(struct ev_loop* loop, ev_io* w, int revents);
  static void on_timer(struct ev_loop* loop, ev_timer* w, int revents);
  static void on_stop(struct ev_loop* loop, ev_async* w, int revents);

  Session* session_for(const sockaddr_storage& from, socklen_t len, int64_t now_ns);
  Session* session_of_tag(uint32_t tag);
  void close_session(uint32_t slot);
  void expire_idle(int64_t now_ns);
  void pump(int64_t now_ns);  // release due packets and re-arm the timer
  void read_batch(int fd, Session* session);

  struct ev_loop* loop_;
  RelayConfig config_;
  Impairment forward_;
  Impairment reverse_;
  int listen_fd_ = -1;
  ev_io listen_watcher_{};
  ev_timer timer_{};
  ev_async stop_{};
  std::vector<std::unique_ptr<Session>> slots_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<ClientKey, uint32_t, ClientKeyHash> by_client_;
  int64_t next_idle_check_ns_ = 0;
  std::vector<uint8_t> rx_buffers_;
  size_t rx_buffer_size_ = 0;
  RelayCounters counters_;
  std::unique_ptr<ForwardSink> forward_sink_;
  std::unique_ptr<ReverseSink> reverse_sink_;
};

}  // namespace aigw::sim
