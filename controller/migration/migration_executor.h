// Make-before-break migration of one stream (docs/controller.md §1.6, §1.7): EXPECT to
// the target, SWITCH to the device, RELEASE to the source, each phase re-sent until
// acknowledged. I/O goes through MigrationIo and time is a parameter.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace aigw::controller {

enum class MigrationPhase : uint8_t { expect, switching, release };
enum class MigrationOutcome : uint8_t {
  completed,          // every phase acknowledged
  completed_unacked,  // switched, but the source never acknowledged RELEASE
  aborted_expect,     // the target never acknowledged EXPECT: the stream stays
  aborted_switch,     // the device never switched: the stream stays
  aborted_target_dead,  // the target died first: the controller re-homes the stream
};
const char* to_string(MigrationPhase p);
const char* to_string(MigrationOutcome o);

struct Migration {
  uint64_t id = 0;
  uint32_t stream_id = 0;
  uint32_t source_gateway = 0;
  uint32_t target_gateway = 0;
  uint32_t switch_unit_seq = 0;  // planned, then the device's actual switch point
  uint32_t planned_switch_seq = 0;
  bool source_dead = false;  // failover: no RELEASE
  bool target_reported = false;  // the target's StreamSync listed units of the stream
  uint32_t target_last_seq = 0;  // the last of them
  std::string reason;
  MigrationPhase phase = MigrationPhase::expect;
  uint32_t attempts = 0;     // sends of the current phase
  int64_t next_send_ns = 0;
};

/// Where the executor's commands go.
class MigrationIo {
 public:
  virtual ~MigrationIo() = default;
  virtual void send_expect(const Migration& m) = 0;
  virtual void send_switch(const Migration& m) = 0;
  virtual void send_release(const Migration& m) = 0;
  /// The migration ended; it is no longer listed when this is called.
  virtual void finished(const Migration& m, MigrationOutcome o) = 0;
};

struct MigrationTiming {
  int64_t retry_ns = 200'000'000;
  uint32_t retries = 5;  // re-sends after the first send of a phase
};

class MigrationExecutor {
 public:
  MigrationExecutor(MigrationIo& io, uint64_t first_id) : io_(io), next_id_(first_id == 0 ? 1 : first_id) {}
  void set_timing(const MigrationTiming& t) { timing_ = t; }

  /// Starts a migration and sends EXPECT. Returns its id, or 0 if the stream is
  /// already migrating.
  uint64_t start(uint32_t stream_id, uint32_t source, uint32_t target, uint32_t switch_unit_seq, bool source_dead,
                 const std::string& reason, int64_t now_ns);

  /// An ack from the target (EXPECT), the device (SWITCH) or the source (RELEASE).
  /// Acks of another phase or an unknown id are ignored (late duplicates).
  void on_ack(uint64_t id, MigrationPhase phase, uint32_t switch_unit_seq, int64_t now_ns);

  /// A StreamSync entry: the stream's last unit seen at `gateway`. Units at the target
  /// at or past the switch point prove the device switched even if its ack was lost.
  void on_progress(uint32_t stream_id, uint32_t gateway, uint32_t last_unit_seq, int64_t now_ns);

  /// Ends a stream's migration without telling anyone (its target died): returns it
  /// as it stood, so the caller can decide where the stream goes; nullopt if none.
  std::optional<Migration> cancel(uint32_t stream_id);

  /// Re-sends and times out. Call at next_deadline_ns() or later.
  void poll(int64_t now_ns);
  int64_t next_deadline_ns() const;

  bool migrating(uint32_t stream_id) const { return by_stream_.count(stream_id) != 0; }
  const Migration* find(uint64_t id) const;
  std::vector<Migration> list() const;
  size_t size() const { return active_.size(); }

 private:
  void enter(Migration& m, MigrationPhase p, int64_t now_ns);
  void send(Migration& m, int64_t now_ns);
  void finish(uint64_t id, MigrationOutcome o);
  void after_switch(Migration& m, uint32_t actual_seq, int64_t now_ns);

  MigrationIo& io_;
  MigrationTiming timing_;
  uint64_t next_id_;
  std::map<uint64_t, Migration> active_;
  std::map<uint32_t, uint64_t> by_stream_;
};

}  // namespace aigw::controller
