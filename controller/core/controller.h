// The controller core: authenticates control datagrams, keeps the tables, admits,
// steers, predicts, migrates and re-homes (docs/controller.md). It performs no I/O and
// reads no clock: datagrams and the time come in as arguments and datagrams leave
// through a Transport, so tests drive it with a fake clock and the daemon with libev.
// \threadbound: one thread (the daemon's event loop) calls every method.
#pragma once

#include <cstdint>
#include <map>
#include <unordered_map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/admission/admission.h"
#include "controller/core/committed_demand.h"
#include "controller/core/config.h"
#include "controller/core/failure_detector.h"
#include "controller/balancing/gpu_steering.h"
#include "controller/balancing/load_model.h"
#include "controller/balancing/lsd_trigger.h"
#include "controller/core/metrics.h"
#include "controller/migration/migration_executor.h"
#include "controller/migration/migration_planner.h"
#include "controller/core/master_keys.h"
#include "controller/core/node_id.h"
#include "controller/core/stream_page.h"
#include "controller/core/tables.h"
#include "protocol/control.pb.h"
#include "protocol/envelope.h"

namespace aigw::controller {

/// Where sealed datagrams go. Returns false when the datagram could not be sent.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual bool send(const UdpEndpoint& to, const std::vector<uint8_t>& datagram) = 0;
};

/// Builds the master keys of a configuration; false (with a reason) on a bad key.
bool build_master_keys(const ControllerConfig& cfg, MasterKeys& keys, std::string& error);

class Controller final : private MigrationIo {
 public:
  /// `counter_start` seeds the envelope counter and migration ids (wall-clock ns in
  /// the daemon, so both stay monotonic across restarts).
  Controller(const ControllerConfig& cfg, Transport& transport, int64_t now_ns, uint64_t counter_start);
  ~Controller() override;

  /// One received datagram from `from`.
  void on_datagram(const uint8_t* data, size_t len, const UdpEndpoint& from, int64_t now_ns);
  /// Runs what is due: admission windows, control rounds, migration retries.
  void poll(int64_t now_ns);
  /// The earliest time poll() has something to do.
  int64_t next_deadline_ns() const;

  // ---- operator surface (aigwctl, HTTP)
  const ControllerConfig& config() const { return cfg_; }
  /// Applies a new configuration live (algorithm, factors, thresholds, periods).
  bool apply_config(const ControllerConfig& next, std::string& error);
  /// Stops (or resumes) admission to a gateway; its streams are migrated away.
  bool set_drain(uint32_t gateway_id, bool drain, std::string& error);
  /// Moves one stream to a gateway now (make-before-break). `dry_run` only checks.
  bool migrate(uint32_t stream_id, uint32_t gateway_id, bool dry_run, int64_t now_ns, std::string& error,
               uint64_t& migration_id);

  nlohmann::json status_json(int64_t now_ns) const;
  nlohmann::json gateways_json() const;
  /// One page of the stream listing: {"streams": [...], "next": <cursor or null>,
  /// "total": <streams matching the filter>}. Costs O(log n + limit), whatever the
  /// table size (docs/controller.md "Paging").
  nlohmann::json streams_json(const StreamPageQuery& q) const;
  nlohmann::json gpus_json() const;
  nlohmann::json migrations_json() const;
  std::string prometheus(int64_t now_ns) const;

  const ControllerMetrics& metrics() const { return metrics_; }
  const std::map<uint32_t, GatewayState>& gateways() const { return gateways_; }
  const std::map<uint32_t, StreamState>& streams() const { return streams_; }
  const CommittedDemand& committed() const { return committed_; }
  uint32_t sender_id() const { return sealer_.sender_id(); }
  /// Counters from `clock`, and no node's first envelope sealed before `not_before`
  /// (the daemon's start less the clock skew): replay protection across restarts.
  void use_wall_clock(WallClock clock, uint64_t not_before) {
    sealer_.set_clock(clock);
    opener_.set_not_before(not_before);
  }

 private:
  struct PendingRequest {
    ctl::AdmissionRequest request;
    UdpEndpoint reply_to;
  };
  struct CachedReply {
    ctl::AdmissionReply reply;
    int64_t expires_ns = 0;
  };

  // controller_rx.cpp
  /// Who sent an authenticated datagram (the role and node its key proves) and from where.
  struct Sender {
    NodeRole role;
    uint32_t sender_id;
    uint32_t node;
    const UdpEndpoint& from;
  };
  enum class RxOutcome {
    handled,   // counted in rx_messages
    bad_body,  // the body does not parse as its type says
    refused,   // counted by reject() already
  };
  bool authenticate(const uint8_t* data, size_t len, EnvelopeView& env, NodeRole& role);
  RxOutcome dispatch(const EnvelopeView& env, const Sender& sender);
  /// Parses the body as M and hands it to `handler`.
  template <typename M, typename Handler>
  RxOutcome handle(const EnvelopeView& env, const Sender& sender, Handler handler);
  /// A message `role` may send, naming the sender's own node as `body_id`; otherwise
  /// rejected as sender_mismatch.
  bool sent_by(const Sender& sender, NodeRole role, uint32_t body_id);
  // The handlers return true when the message counts as handled (rx_messages), false
  // when they refused it outright (reject() has counted why).
  bool on_gateway_register(const ctl::GatewayRegister& m, const Sender& sender);
  bool on_load_sync(const ctl::LoadSync& m, const Sender& sender);
  bool on_stream_sync(const ctl::StreamSync& m, const Sender& sender);
  bool on_admission_request(ctl::AdmissionRequest& m, const Sender& sender);
  bool on_stream_close(const ctl::StreamClose& m, const Sender& sender);
  bool on_heartbeat(const ctl::Heartbeat& m, const Sender& sender);
  bool on_gpu_register(const ctl::GpuRegister& m, const Sender& sender);
  bool on_gpu_load_sync(const ctl::GpuLoadSync& m, const Sender& sender);
  bool on_migrate_ack(const ctl::MigrateAck& m, const Sender& sender);
  void adopt_stream(const ctl::StreamEntry& e, uint32_t gateway_id);
  void reject(const char* reason);
  void forget_stream(uint32_t stream_id);
  /// The stream now lives on its (gateway_id, port_index), or no longer does: keeps
  /// committed_ and by_gateway_ in step with streams_.
  void add_home(const StreamState& s);
  void remove_home(const StreamState& s);

  // controller_admission.cpp
  void decide_window();
  /// Answers what needs no algorithm (refusals, streams the controller already has,
  /// the device cap, no GPU server for the model); true when `p` is left to decide.
  /// `window_per_device` counts this window's requests that passed the cap so far.
  bool needs_decision(PendingRequest& p, std::map<uint32_t, uint32_t>& window_per_device);
  /// Runs the admission algorithm: per demand, an index into `targets` or kRejected.
  std::vector<int32_t> run_algorithm(const std::vector<AdmissionTarget>& targets,
                                     const std::vector<AdmissionDemand>& demands);
  /// Accepts `p` onto `target`, or (nullptr) rejects it for the reason that applies.
  void answer_decided(const PendingRequest& p, const AdmissionTarget* target, const AdmissionDemand& demand,
                      bool any_live_gateway);
  std::vector<AdmissionTarget> admission_targets(uint32_t exclude_gateway) const;
  void reply(const UdpEndpoint& to, const ctl::AdmissionReply& r, const ctl::AdmissionRequest& req);
  ctl::AdmissionReply accept(const PendingRequest& p, const AdmissionTarget& t);
  /// The admission rule `req` breaks (a metric label), or nullptr.
  const char* refusal(const ctl::AdmissionRequest& req, const UdpEndpoint& from) const;
  ctl::AdmissionReply existing_assignment(const ctl::AdmissionRequest& req, const StreamState& s) const;
  uint32_t allocate_stream_id(uint32_t wanted);
  void rebuild_algorithm();

  // controller_round.cpp
  void control_round();
  /// Sets the clock; a gap longer than two rounds means this process did not run, and
  /// the nodes are excused for the silence it did not hear.
  void advance_clock(int64_t now_ns);
  /// Probes late gateways and declares dead the nodes that stayed silent or unanswering.
  void check_liveness();
  void gateway_gone(uint32_t id, const char* reason);
  /// Ends the migrations towards the dead gateway `id`: a device that may already send
  /// to it goes back to its source, or (source gone too) joins `orphans` (stream ->
  /// first unit that may be lost). Returns how many ended.
  size_t abort_migrations_to(uint32_t id, std::map<uint32_t, uint32_t>& orphans);
  void gpu_gone(uint32_t id);
  void rebalance_gpus();
  void plan_migrations();
  /// The plan input with gateways whose load does not yet show a recent or running
  /// migration taken out of balancing (see GatewayState::settled_ns).
  std::vector<PlanGateway> settled(std::vector<PlanGateway> input) const;
  void unsettle(uint32_t gateway_id);
  std::vector<PlanGateway> plan_input() const;
  uint32_t pick_port(uint32_t gateway_id, const StreamState& s) const;
  /// Make-before-break from the stream's gateway to `target` (§1.6).
  uint64_t start_migration(StreamState& s, uint32_t target, uint32_t port, const char* reason);
  /// Re-homing away from the dead gateway `dead` (§1.7): units from `from_seq` on may
  /// have gone to it; the device switches at its next unit.
  uint64_t start_failover(StreamState& s, uint32_t dead, uint32_t target, uint32_t port, uint32_t from_seq,
                          const char* reason);
  uint64_t begin_migration(StreamState& s, uint32_t source, uint32_t target, uint32_t port, uint32_t seq,
                           bool source_dead, const char* reason);
  /// Sets (or with 0 clears) the stream's migration target, keeping committed_ right.
  void set_target(StreamState& s, uint32_t gateway_id, uint32_t port_index);
  /// The fields every phase of a MigrateCommand carries (docs/controller.md §1.6).
  ctl::MigrateCommand migrate_command(const Migration& m, ctl::MigratePhase phase) const;
  /// Counts and logs the units a failover left with the dead gateway.
  void report_failover_gap(const Migration& m, StreamState& s);
  void send_expect(const Migration& m) override;
  void send_switch(const Migration& m) override;
  void send_release(const Migration& m) override;
  void finished(const Migration& m, MigrationOutcome o) override;

  // controller_tx.cpp
  /// Seals `msg` under the node key of `recipient` (a sender id) and sends it.
  void send(const UdpEndpoint& to, uint32_t recipient, MessageType type, const google::protobuf::MessageLite& msg);
  /// The pair keys of every live gateway, to one GPU server.
  void send_peer_keys(const GpuServer& gpu);
  void send_assign(const StreamState& s, bool remove, uint32_t release_after);
  void send_remove(uint32_t gateway_id, uint32_t stream_id, uint32_t release_after);
  void send_steer(const StreamState& s);
  void send_stream_close(const StreamState& s);
  void fill_entry(const StreamState& s, uint32_t data_port, ctl::StreamEntry& e) const;
  std::pair<std::string, uint32_t> gpu_endpoint(uint32_t gpu_id) const;

  ControllerConfig cfg_;
  Transport& transport_;
  MasterKeys masters_;
  EnvelopeSealer sealer_;
  EnvelopeOpener opener_;
  std::unique_ptr<AdmissionAlgorithm> algorithm_;
  LoadModel load_model_;
  LsdTrigger trigger_;
  FailureDetector gateway_liveness_;
  FailureDetector gpu_liveness_;
  GpuSteering steering_;
  MigrationExecutor executor_;
  ControllerMetrics metrics_;
  CommittedDemand committed_;  // per-port demand of streams_, updated with it

  std::map<uint32_t, GatewayState> gateways_;
  std::map<uint32_t, StreamState> streams_;  // ordered by id: a page starts at upper_bound(after)
  std::unordered_map<uint32_t, uint32_t> streams_per_device_;  // for admission.max_streams_per_device
  StreamsByGateway by_gateway_;              // ids of streams_ per home gateway
  std::vector<PendingRequest> pending_;
  std::map<std::pair<uint32_t, uint64_t>, CachedReply> replies_;
  // Streams closed recently: a StreamSync that still lists one (it crossed the
  // removal) gets the removal again instead of resurrecting it. Id -> expiry.
  std::map<uint32_t, int64_t> closed_;
  uint32_t next_stream_id_ = 1;

  int64_t now_ns_ = 0;
  int64_t started_ns_ = 0;
  int64_t warmup_end_ns_ = 0;
  int64_t window_end_ns_ = 0;      // 0: no window open
  int64_t next_round_ns_ = 0;
  int64_t last_event_ns_ = 0;      // the latest datagram or tick: a long gap means we stalled
  LoadSnapshot last_snapshot_;
  bool planning_ = false;
  std::vector<uint8_t> scratch_;
};

}  // namespace aigw::controller
