// The device side of the control protocol (docs/controller.md §1), I/O-free: admission
// with retries, heartbeats, NACKs answered from each stream's retransmit store,
// MigrateCommand SWITCH at a unit boundary with its MigrateAck, StreamClose both ways.
// Datagrams come in through on_control(), go out through CoreIo; time is a parameter.
//
// Thread context: not thread-safe; the handle (edge_handle.h) serialises all calls.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "aigw/edge.h"
#include "edge-sdk/src/allocator.h"
#include "edge-sdk/src/core_io.h"
#include "edge-sdk/src/logger.h"
#include "edge-sdk/src/stream.h"
#include "protocol/envelope.h"
#include "protocol/node_keys.h"
#include "protocol/udp_endpoint.h"

namespace aigw::edge {

/// Role numbers of sender ids, as the rule in protocol/node_identity.h defines them.
inline constexpr uint32_t kRoleGateway = uint32_t(NodeRole::gateway);
inline constexpr uint32_t kRoleDevice = uint32_t(NodeRole::device);
inline constexpr uint32_t kRoleController = uint32_t(NodeRole::controller);
inline uint32_t sender_id_of(uint32_t role, uint32_t node_id) { return make_sender_id(NodeRole(role), node_id); }

struct CoreConfig {
  uint32_t device_id = 0;  ///< node id, 1 .. 2^24-1
  uint32_t key_id = 0;
  ControlKey key{};
  UdpEndpoint controller;
  std::string control_address;  ///< advertised in AdmissionRequest ("" = my source address)
  uint16_t control_port = 0;
  std::string source_address;   ///< where data comes from
  uint16_t source_port = 0;
  int64_t heartbeat_ns = 1'000'000'000;
  int64_t admission_timeout_ns = 5'000'000'000;
  int64_t retry_ns = 200'000'000;       ///< first retry wait, doubled per attempt
  int64_t max_retry_ns = 1'600'000'000;
  uint32_t max_attempts = 5;
  StreamLimits limits;
  uint64_t counter_start = 0;           ///< envelope counter and request id base
  WallClock clock = nullptr;            ///< envelope counters follow it when set
  uint64_t envelopes_not_before = 0;    ///< EnvelopeOpener::set_not_before
};

/// Why control datagrams were not acted on; each has its own counter.
struct CoreCounters {
  uint64_t control_received = 0;
  uint64_t envelope_rejected[kEnvelopeErrorCount] = {};  ///< by EnvelopeError
  uint64_t bad_body = 0;                ///< protobuf did not parse, or fields out of range
  uint64_t wrong_sender = 0;            ///< e.g. a NACK not from a gateway
  uint64_t pair_key_refused = 0;        ///< a gateway's pair key box did not open
  uint64_t unexpected_type = 0;
  uint64_t unknown_stream = 0;
  uint64_t stale_replies = 0;           ///< reply to no pending request
  uint64_t nacks_malformed = 0;
  uint64_t heartbeats_sent = 0;
  uint64_t controller_heartbeats = 0;   ///< answers from the controller
  int64_t controller_seen_ns = 0;       ///< time of the last controller message
};

/// State of one admission: pending (1), AIGW_OK, or a negative aigw_error.
inline constexpr int kAdmissionPending = 1;

class DeviceCore {
 public:
  DeviceCore(const CoreConfig& config, CoreIo& io, const Allocator& alloc, const Logger& log);
  ~DeviceCore();
  DeviceCore(const DeviceCore&) = delete;
  DeviceCore& operator=(const DeviceCore&) = delete;

  /// Sends the AdmissionRequest; returns the request id to poll with admission().
  uint64_t begin_admission(const StreamSetup& setup, int64_t now_ns);
  /// kAdmissionPending, AIGW_OK (with `info`) or the failure; a finished admission is
  /// forgotten once read.
  int admission(uint64_t request_id, aigw_stream_info* info);
  /// Gives up waiting for a reply (a late reply is then counted stale).
  void cancel_admission(uint64_t request_id);

  int send_unit(uint32_t stream_id, const uint8_t* data, size_t len, int64_t now_ns);
  int close_stream(uint32_t stream_id, int64_t now_ns);
  /// Closes every stream and forgets them at once (handle destruction).
  void close_all(int64_t now_ns);

  /// One datagram received on the control socket.
  void on_control(const uint8_t* data, size_t len, int64_t now_ns);
  /// Retries, timeouts, heartbeats, paced sending, forgetting closed streams.
  void poll(int64_t now_ns);
  /// Earliest time poll() has work, INT64_MAX if none.
  int64_t next_deadline_ns() const;

  int stream_stats(uint32_t stream_id, aigw_stream_stats& out) const;
  /// Events for the application, in order; the caller drains the vector.
  std::vector<aigw_event>& events() { return events_; }
  const CoreCounters& counters() const { return counters_; }
  const StreamLimits& limits() const { return config_.limits; }

 private:
  struct Admission {
    StreamSetup setup;
    std::string body;      // serialized AdmissionRequest, resent in new envelopes
    int64_t started_ns = 0;
    int64_t next_send_ns = 0;
    int64_t wait_ns = 0;
    uint32_t attempts = 0;
    int result = kAdmissionPending;
    aigw_stream_info info{};
  };

  void send_to_controller(MessageType type, const std::string& body);
  void send_admission(Admission& a, int64_t now_ns);
  void on_admission_reply(const EnvelopeView& v);
  /// Keeps the pair key of `gateway_id` from a box the controller sealed under key `box_key_id`.
  void learn_gateway_key(uint32_t gateway_id, uint32_t pair_key_id, uint32_t box_key_id, const std::string& box);
  void on_retransmit_request(const uint8_t* body, size_t len, int64_t now_ns);
  void on_migrate(const EnvelopeView& v);
  void on_stream_close(const uint8_t* body, size_t len, int64_t now_ns);
  void send_heartbeat(int64_t now_ns);
  Stream* find(uint32_t stream_id) const;

  CoreConfig config_;
  CoreIo& io_;
  Allocator alloc_;
  Logger log_;
  NodeKeys keys_;
  EnvelopeSealer sealer_;
  EnvelopeOpener opener_;
  std::vector<uint8_t> out_;  // envelope scratch
  std::map<uint64_t, Admission> admissions_;
  std::map<uint32_t, Stream*> streams_;
  std::vector<aigw_event> events_;
  CoreCounters counters_;
  uint64_t next_request_id_;
  uint64_t heartbeat_seq_ = 0;
  int64_t next_heartbeat_ns_ = 0;
};

}  // namespace aigw::edge
