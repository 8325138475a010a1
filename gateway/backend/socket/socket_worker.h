// One pipeline of the socket backend with its sockets: a UDP socket per data port read
// with recvmmsg in batches (bounded batches per readable event so no port and not the
// control socket can starve), an egress socket that sends fragments to GPU servers with
// sendmmsg and receives their acks and NACKs, and the timers of its pipeline. Runs
// either on the agent's loop (one worker) or on a thread of its own with its own loop,
// taking commands from an SPSC ring (several workers sharing the data ports through
// SO_REUSEPORT).
//
// \threadbound Everything runs on the thread of the loop it is attached to; in threaded
// mode the command ring, the stop request and the published counters are shared.
#pragma once

#include <ev.h>
#include <sys/socket.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gateway/node/config.h"
#include "gateway/core/pipeline.h"
#include "gateway/core/spsc_ring.h"
#include "protocol/udp_offload.h"

namespace aigw {

class SocketWorker final : private EgressOut {
 public:
  /// `events` receives the pipeline's events on the worker's thread.
  SocketWorker(const GatewayConfig& config, const KeySource& keys, PipelineEvents& events);
  ~SocketWorker() override;
  SocketWorker(const SocketWorker&) = delete;
  SocketWorker& operator=(const SocketWorker&) = delete;

  /// Binds data port i to `data[i]` (SO_REUSEPORT, so other workers can bind the same
  /// address) and the egress socket to `egress`. This is worker `index` of `count`: it
  /// gets 1/count of each port's memory budget, and only worker 0 counts the port's
  /// streams (every worker is assigned every stream). False with `error` on failure.
  bool open(const std::vector<Ipv4Endpoint>& data, const Ipv4Endpoint& egress, size_t index, size_t count,
            std::string& error);

  /// Shared-loop mode: serves on `loop` (the caller's thread) until detach().
  void attach(struct ev_loop* loop);
  void detach();
  /// Applies a command at once (shared-loop mode, on the loop's thread).
  void apply(const StreamCommand& cmd);

  /// Threaded mode: starts a thread with a loop of its own. `turn_end` runs on that
  /// thread after each loop turn's work (the backend wakes the agent there).
  bool start_thread(std::function<void()> turn_end, std::string& error);
  /// Queues a command for the worker's thread (agent's thread; applied at once while
  /// no thread runs). False when the ring is full.
  bool post(const StreamCommand& cmd);
  /// Stops and joins the thread; commands still queued are dropped.
  void stop_thread();
  /// CPU time of the thread serving this worker, nanoseconds (any thread).
  uint64_t cpu_ns() const;

  Ipv4Endpoint data_endpoint(size_t i) const { return ports_[i].bound; }
  Ipv4Endpoint egress_endpoint() const { return egress_bound_; }
  const Pipeline& pipeline() const { return *pipeline_; }
  uint64_t rx_oversize() const { return published_oversize_.load(std::memory_order_relaxed); }
  /// Datagrams that arrived inside coalesced (GRO) receives.
  uint64_t rx_gro_segments() const { return published_gro_segments_.load(std::memory_order_relaxed); }
  bool gro_enabled() const { return !ports_.empty() && ports_[0].gro; }
  /// Whether egress sends go as UDP GSO runs (false when the kernel lacks it, the
  /// config turned it off, or a route refused it; see gso_refused()).
  bool gso_enabled() const { return gso_at_open_ && !gso_refused(); }
  /// Egress GSO sends (each several fragments).
  uint64_t tx_gso_sends() const { return published_gso_sends_.load(std::memory_order_relaxed); }
  /// A route refused a GSO send, so the worker fell back to one datagram per fragment.
  bool gso_refused() const { return published_gso_refused_.load(std::memory_order_relaxed); }
  uint64_t rx_errors() const { return published_rx_errors_.load(std::memory_order_relaxed); }
  uint64_t tx_errors() const { return published_tx_errors_.load(std::memory_order_relaxed); }

 private:
  struct PortSocket {
    SocketWorker* owner = nullptr;
    size_t index = 0;
    int fd = -1;
    Ipv4Endpoint bound;
    ev_io io{};
    bool backlog = false;  // the last read stopped at the per-turn bound, not at EAGAIN
    bool gro = false;      // UDP GRO on: a receive may hold several datagrams
  };

  // EgressOut
  bool send(const Ipv4Endpoint& to, const uint8_t* header, const uint8_t* payload, size_t payload_len,
            uint32_t payload_sum) override;
  void flush() override;

  static void on_data(struct ev_loop* loop, ev_io* w, int revents);
  static void on_egress(struct ev_loop* loop, ev_io* w, int revents);
  static void on_timer(struct ev_loop* loop, ev_timer* w, int revents);
  static void on_prepare(struct ev_loop* loop, ev_prepare* w, int revents);
  static void on_wake(struct ev_loop* loop, ev_async* w, int revents);
  void read_port(PortSocket& p);
  void read_egress();
  void service();
  void drain_commands();

  const GatewayConfig& config_;
  const KeySource& keys_;
  PipelineEvents& events_;
  struct ev_loop* loop_ = nullptr;
  std::unique_ptr<Pipeline> pipeline_;
  std::vector<PortSocket> ports_;
  int egress_fd_ = -1;
  Ipv4Endpoint egress_bound_;
  ev_io egress_io_{};
  ev_timer timer_{};
  ev_prepare prepare_{};

  // Threaded mode.
  struct ev_loop* own_loop_ = nullptr;
  ev_async wake_{};
  std::unique_ptr<SpscRing<StreamCommand>> commands_;
  std::function<void()> turn_end_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  // Receive batch (recvmmsg), allocated once.
  size_t slot_bytes_ = 0;
  std::vector<uint8_t> rx_buf_;
  std::vector<mmsghdr> rx_msgs_;
  std::vector<iovec> rx_iov_;
  std::vector<sockaddr_in> rx_addr_;
  // Transmit batch, allocated once: datagrams (buffer, iovec, address) queued by send()
  // and, built by flush(), one message per GSO run (or per datagram without GSO).
  std::vector<uint8_t> tx_buf_;
  std::vector<iovec> tx_iov_;
  std::vector<sockaddr_in> tx_addr_;
  std::vector<mmsghdr> tx_msgs_;
  std::vector<UdpOffloadControl> tx_control_;
  std::vector<size_t> tx_runs_;  // datagrams per message
  size_t tx_count_ = 0;
  bool tx_blocked_ = false;
  bool gso_ = false;         // this thread's switch
  bool gso_at_open_ = false; // what open() found (read by any thread)
  uint64_t tx_gso_sends_ = 0;
  std::atomic<uint64_t> published_gso_sends_ = 0;
  std::atomic<bool> published_gso_refused_ = false;

  uint64_t rx_oversize_ = 0;  ///< datagrams larger than a receive slot
  uint64_t rx_gro_segments_ = 0;
  std::atomic<uint64_t> published_gro_segments_ = 0;
  std::vector<UdpOffloadControl> rx_control_;  // one UDP_GRO control message per receive slot
  uint64_t rx_errors_ = 0;
  uint64_t tx_errors_ = 0;
  std::atomic<uint64_t> published_oversize_ = 0, published_rx_errors_ = 0, published_tx_errors_ = 0;
};

}  // namespace aigw
