// The ingest pipeline of one data-plane core: for each of its data ports a protocol
// UnitReceiver (reassembly, loss detection, NACK timing, memory budget), the stream
// table that says who may send what, and one UnitSender that forwards complete units to
// their GPU servers and answers the GPU side's NACKs. I/O-free: a backend feeds
// datagrams with the time and supplies EgressOut; the agent sends StreamCommands and
// receives PipelineEvents.
//
// \threadbound Every method except stats readers runs on the owning core's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "gateway/core/pipeline_io.h"
#include "gateway/core/pipeline_stats.h"
#include "gateway/core/stream_table.h"
#include "protocol/envelope.h"
#include "protocol/unit_receiver.h"
#include "protocol/unit_sender.h"

namespace aigw {

struct PipelinePort {
  uint16_t udp_port = 0;
  size_t memory_budget_bytes = size_t{256} << 20;  ///< overrides receiver.memory_budget_bytes
  /// Whether this pipeline reports the port's admitted streams (`streams` gauge). When
  /// several pipelines serve one port (RSS queues, socket workers) all of them admit
  /// every stream, and only one counts them, so the per-port sum stays right.
  bool counts_streams = true;
};

struct PipelineConfig {
  std::vector<PipelinePort> data_ports;  ///< one receiver each
  ReceiverConfig receiver;
  SenderConfig egress;
  size_t max_streams = 4096;
  /// A released stream whose last unit never finishes leaves after this long.
  int64_t release_timeout_ns = 5'000'000'000;
  /// Stats are copied for other threads at most this often.
  int64_t publish_interval_ns = 10'000'000;
  /// GPU envelopes sealed before this wall-clock counter are refused from a sender not
  /// heard since start (EnvelopeOpener::set_not_before); the worker sets it at start.
  uint64_t envelopes_not_before = 0;
};

class Pipeline {
 public:
  /// `keys` authenticates the GPU servers' acks and NACKs on the egress socket; it must
  /// outlive the pipeline and is only read.
  Pipeline(const PipelineConfig& config, PipelineEvents& events, EgressOut& egress,
           const KeySource& keys);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  /// One UDP datagram received on data port `port_index` (index into data_ports).
  /// `udp_payload_sum`: the ones-complement sum of the `len` bytes when the backend has
  /// it (net::Frame::udp_payload_sum); kept for egress when receiver.keep_payload_sums.
  void on_datagram(size_t port_index, const Ipv4Endpoint& from, const uint8_t* data, size_t len,
                   int64_t now_ns, uint32_t udp_payload_sum = kNoPayloadSum);
  /// One datagram received on the egress socket: a GPU server's UnitAck or
  /// RetransmitRequest inside an authenticated envelope.
  void on_egress_datagram(const Ipv4Endpoint& from, const uint8_t* data, size_t len, int64_t now_ns);
  /// Applies a control-plane change.
  void apply(const StreamCommand& cmd, int64_t now_ns);
  /// Runs timers (NACKs, losses, release deadlines), sends egress fragments (at most
  /// `max_fragments`), publishes stats when due. Call at next_deadline_ns() or sooner.
  void poll(int64_t now_ns, size_t max_fragments = 256);
  /// Earliest time poll() has timer work, or INT64_MAX. Pending egress sends count as now.
  int64_t next_deadline_ns() const;

  /// Copies the counters into the published set now.
  void publish();

  size_t port_count() const { return ports_.size(); }
  uint16_t data_port(size_t i) const;
  /// Index of the data port with this UDP port number, or -1.
  int port_index(uint16_t udp_port) const;

  /// Readable from any thread.
  const PublishedPortStats& port_stats(size_t i) const;
  const PublishedEgressStats& egress_stats() const { return egress_published_; }

  /// Owner-thread views (tests and single-threaded backends).
  const StreamTable& streams() const { return streams_; }
  const UnitReceiver& receiver(size_t i) const;
  const UnitSender& sender() const { return *sender_; }

 private:
  struct Port;
  class SenderSink;
  void on_complete(Port& port, const CompletedUnit& info, UnitHandle& unit);
  void on_lost(const LostUnit& info);
  void on_nack(const NackOut& nack);
  void unit_finished(uint32_t stream_id, uint32_t unit_seq);
  void start_release(StreamRoute& route, uint32_t last_unit_seq, int64_t now_ns);
  void finish_release(StreamRoute& route);
  void expire_releases(int64_t now_ns);
  bool send_egress(uint32_t stream_id, const uint8_t* header, const uint8_t* payload, size_t len,
                   uint32_t payload_sum);
  void apply_gpu_nack(const StreamCommand& cmd, int64_t now_ns);
  Port* port_by_udp(uint16_t udp_port);
  void recount_streams();

  PipelineConfig config_;
  PipelineEvents& events_;
  EgressOut& egress_;
  EnvelopeOpener opener_;
  StreamTable streams_;
  std::vector<std::unique_ptr<Port>> ports_;
  std::unique_ptr<SenderSink> sender_sink_;
  std::unique_ptr<UnitSender> sender_;
  // Released streams waiting for their last unit or timeout, and retired ones whose
  // egress store is still draining: (stream id, deadline).
  struct Pending {
    uint32_t stream_id;
    int64_t deadline_ns;
  };
  std::vector<Pending> releasing_;
  std::vector<Pending> retiring_;
  uint64_t egress_counts_[kEgressStatCount] = {};
  PublishedEgressStats egress_published_;
  int64_t now_ns_ = 0;
  int64_t next_publish_ns_ = 0;
  int64_t next_housekeeping_ns_ = 0;
};

}  // namespace aigw
