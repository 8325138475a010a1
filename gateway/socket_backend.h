// The kernel-socket backend (default, no special hardware): one libev loop, one UDP
// socket per data port read with recvmmsg in batches (bounded batches per readable
// event so no port and not the control socket can starve), one egress socket that
// sends fragments to GPU servers with sendmmsg and receives their acks and NACKs. All
// ports share one pipeline on the loop's thread.
//
// \threadbound Everything runs on the thread of `loop`, together with the agent.
#pragma once

#include <ev.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

#include "gateway/config.h"
#include "gateway/data_plane.h"
#include "gateway/pipeline.h"

namespace aigw {

class SocketBackend final : public Backend, private EgressOut, private PipelineEvents {
 public:
  SocketBackend(struct ev_loop* loop, const GatewayConfig& config, const KeyRing& keys);
  ~SocketBackend() override;
  SocketBackend(const SocketBackend&) = delete;
  SocketBackend& operator=(const SocketBackend&) = delete;

  void set_events(PipelineEvents* events) override { events_ = events; }
  bool start(std::string& error) override;
  void stop() override;

  // DataPlane
  void post(const StreamCommand& cmd) override;
  size_t port_count() const override { return ports_.size(); }
  Endpoint data_endpoint(size_t i) const override { return ports_[i].bound; }
  PortStatsView port_stats(size_t i) const override { return PortStatsView(pipeline_->port_stats(i)); }
  Endpoint egress_endpoint() const override { return egress_bound_; }
  size_t pipeline_count() const override { return 1; }
  const PublishedEgressStats& egress_stats(size_t) const override { return pipeline_->egress_stats(); }
  size_t core_count() const override { return 1; }
  void cpu_counters(size_t core, uint64_t& busy, uint64_t& total) const override;
  size_t core_of_port(size_t) const override { return 0; }
  void render_backend_metrics(std::string& out) const override;

  const Pipeline& pipeline() const { return *pipeline_; }

 private:
  struct PortSocket {
    SocketBackend* owner = nullptr;
    size_t index = 0;
    int fd = -1;
    Endpoint bound;
    ev_io io{};
  };

  // EgressOut
  bool send(const Endpoint& to, const uint8_t* header, const uint8_t* payload, size_t payload_len) override;
  void flush() override;
  // PipelineEvents (relayed to the agent)
  void send_nack(const Endpoint& device_control, const NackOut& nack) override;
  void unit_done(uint32_t stream_id, uint32_t unit_seq, bool delivered, uint32_t bytes, LossReason reason) override;
  void stream_released(uint32_t stream_id, uint32_t last_unit_seq) override;

  static void on_data(struct ev_loop* loop, ev_io* w, int revents);
  static void on_egress(struct ev_loop* loop, ev_io* w, int revents);
  static void on_timer(struct ev_loop* loop, ev_timer* w, int revents);
  static void on_prepare(struct ev_loop* loop, ev_prepare* w, int revents);
  void read_port(PortSocket& p);
  void read_egress();
  void service();

  struct ev_loop* loop_;
  const GatewayConfig& config_;
  const KeyRing& keys_;
  PipelineEvents* events_ = nullptr;
  std::unique_ptr<Pipeline> pipeline_;
  std::vector<PortSocket> ports_;
  int egress_fd_ = -1;
  Endpoint egress_bound_;
  ev_io egress_io_{};
  ev_timer timer_{};
  ev_prepare prepare_{};

  // Receive batch (recvmmsg), allocated once.
  size_t slot_bytes_ = 0;
  std::vector<uint8_t> rx_buf_;
  std::vector<mmsghdr> rx_msgs_;
  std::vector<iovec> rx_iov_;
  std::vector<sockaddr_in> rx_addr_;
  // Transmit batch (sendmmsg), allocated once.
  std::vector<uint8_t> tx_buf_;
  std::vector<mmsghdr> tx_msgs_;
  std::vector<iovec> tx_iov_;
  std::vector<sockaddr_in> tx_addr_;
  size_t tx_count_ = 0;
  bool tx_blocked_ = false;

  uint64_t rx_oversize_ = 0;   ///< datagrams larger than a receive slot
  uint64_t rx_errors_ = 0;
  uint64_t tx_errors_ = 0;
  std::atomic<uint64_t> published_oversize_ = 0, published_rx_errors_ = 0, published_tx_errors_ = 0;
};

}  // namespace aigw
