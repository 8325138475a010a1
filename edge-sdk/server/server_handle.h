// The object behind an aigw_server*: the server core, its sockets (data, control, a
// timer and a wake-up descriptor under one epoll set), the lock that serialises API
// calls, and in thread mode the background thread. Units go to on_unit outside the
// lock, or wait in the core's ready ring for aigw_server_next_unit().
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aigw/server.h"
#include "edge-sdk/server/server_core.h"
#include "edge-sdk/src/logger.h"

namespace aigw::server {

class Server final : ServerOutput {
 public:
  /// Validates options, opens the sockets, registers, starts the thread.
  static int create(const aigw_server_options& options, Server** out);
  static void destroy(Server* s);

  int data_address(char* buf, size_t cap);
  int next_unit(aigw_unit* unit, int timeout_ms);
  int release(uint64_t token);
  int set_stream_key(uint32_t stream_id, const uint8_t* key);
  int report_load(double load, const aigw_model_load* models, size_t count);
  int fd();
  int process(int64_t now_ns);
  int64_t next_deadline_ns();
  void counters(aigw_server_counters& out);

  Server(const aigw_server_options& options);
  ~Server() override;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

 private:
  int start(const aigw_server_options& o, const UdpEndpoint& controller, const UdpEndpoint& data_bind,
            const UdpEndpoint& control_bind, const UdpEndpoint& advertise);
  int64_t now() const;
  /// Reads the data and control sockets, runs timers. Lock held.
  void process_locked(int64_t now_ns);
  /// Waits on the descriptors until the core's next deadline, at most `cap_ms`.
  void wait_for_work(std::unique_lock<std::mutex>& lock, int cap_ms);
  /// Hands ready units to on_unit, outside the lock (re-taken before returning).
  void deliver(std::unique_lock<std::mutex>& lock);
  void fill(uint64_t token, aigw_unit& u) const;
  void arm_timer(int64_t now_ns);
  void run_thread();

  void to_gateway(const UdpEndpoint& egress, const uint8_t* data, size_t len) override;
  void to_controller(const uint8_t* data, size_t len) override;

  edge::Logger log_;
  aigw_clock_fn clock_;
  void* clock_user_;
  int mode_;
  aigw_unit_fn on_unit_;
  void* unit_user_;
  aigw_alloc_fn alloc_;
  aigw_free_fn free_;
  void* alloc_user_;
  std::mutex mu_;
  std::condition_variable ready_cv_;
  std::unique_ptr<ServerCore> core_;
  UdpEndpoint controller_;
  UdpEndpoint data_local_;
  int data_fd_ = -1;
  int control_fd_ = -1;
  int epoll_fd_ = -1;
  int timer_fd_ = -1;
  int wake_fd_ = -1;
  bool gro_ = false;
  size_t slot_ = 0;
  std::vector<uint8_t> rx_;
  std::vector<aigw_unit> deliveries_;  // sized to max_held_units: no allocation per unit
  std::thread thread_;
  bool stop_ = false;
  uint64_t control_received_ = 0;
  uint64_t send_errors_ = 0;
};

}  // namespace aigw::server
