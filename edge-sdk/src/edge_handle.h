// The object behind an aigw_edge*: the device core, its sockets, the lock that
// serialises API calls, and in thread mode the background thread. Event callbacks are
// delivered outside the lock (see the threading note in aigw/edge.h).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "aigw/edge.h"
#include "edge-sdk/src/allocator.h"
#include "edge-sdk/src/device_core.h"
#include "edge-sdk/src/logger.h"
#include "edge-sdk/src/socket_io.h"

namespace aigw::edge {

class Edge {
 public:
  /// Validates options, opens the sockets, starts the thread. Returns an aigw_error.
  static int create(const aigw_edge_options& options, Edge** out);
  /// Closes streams, stops the thread and frees the object through the allocator hook.
  static void destroy(Edge* edge);

  int open_stream(const aigw_stream_profile& profile, aigw_stream_info* info);
  int send_unit(uint32_t stream_id, const void* data, size_t len);
  int close_stream(uint32_t stream_id);
  int fd();
  int process(int64_t now_ns);
  int64_t next_deadline_ns();
  int stream_stats(uint32_t stream_id, aigw_stream_stats& out);
  void counters(aigw_edge_counters& out);

  Edge(const aigw_edge_options& options, const Allocator& alloc);
  ~Edge();
  Edge(const Edge&) = delete;
  Edge& operator=(const Edge&) = delete;

 private:
  int64_t now() const;
  /// Opens the sockets, builds the core, starts the thread. Returns an aigw_error.
  int start(const aigw_edge_options& options, const UdpEndpoint& controller,
            const UdpEndpoint& control_bind, const UdpEndpoint& data_bind);
  /// One round of work: control datagrams, timers, sending. Lock held.
  void process_locked(int64_t now_ns);
  /// The core's next deadline, held back while the socket buffer is full.
  int64_t effective_deadline(int64_t now_ns) const;
  /// Arms the descriptor's timer at the effective deadline (default clock only).
  void arm_timer(int64_t now_ns);
  /// Waits on the sockets and timers until the next deadline, at most `cap_ms`.
  void wait_for_work(std::unique_lock<std::mutex>& lock, int cap_ms);
  void deliver(std::vector<aigw_event>& events);
  void run_thread();

  Allocator alloc_;
  Logger log_;
  aigw_clock_fn clock_;
  void* clock_user_;
  int mode_;
  aigw_event_fn on_event_;
  void* event_user_;
  std::mutex mu_;
  std::condition_variable cv_;
  SocketIo io_;
  DeviceCore* core_ = nullptr;
  std::thread thread_;
  bool stop_ = false;
  int64_t admission_timeout_ns_ = 0;
};

}  // namespace aigw::edge
