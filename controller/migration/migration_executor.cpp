#include "controller/migration/migration_executor.h"

#include <limits>

namespace aigw::controller {

const char* to_string(MigrationPhase p) {
  switch (p) {
    case MigrationPhase::expect: return "expect";
    case MigrationPhase::switching: return "switch";
    case MigrationPhase::release: return "release";
  }
  return "expect";
}

const char* to_string(MigrationOutcome o) {
  switch (o) {
    case MigrationOutcome::completed: return "completed";
    case MigrationOutcome::completed_unacked: return "completed_unacked";
    case MigrationOutcome::aborted_expect: return "aborted_expect";
    case MigrationOutcome::aborted_switch: return "aborted_switch";
    case MigrationOutcome::aborted_target_dead: return "aborted_target_dead";
  }
  return "completed";
}

uint64_t MigrationExecutor::start(uint32_t stream_id, uint32_t source, uint32_t target, uint32_t switch_unit_seq,
                                  bool source_dead, const std::string& reason, int64_t now_ns) {
  if (migrating(stream_id)) return 0;
  const uint64_t id = next_id_++;
  Migration& m = active_[id];
  m.id = id;
  m.stream_id = stream_id;
  m.source_gateway = source;
  m.target_gateway = target;
  m.switch_unit_seq = switch_unit_seq;
  m.planned_switch_seq = switch_unit_seq;
  m.source_dead = source_dead;
  m.reason = reason;
  by_stream_[stream_id] = id;
  enter(m, MigrationPhase::expect, now_ns);
  return id;
}

void MigrationExecutor::enter(Migration& m, MigrationPhase p, int64_t now_ns) {
  m.phase = p;
  m.attempts = 0;
  send(m, now_ns);
}

void MigrationExecutor::send(Migration& m, int64_t now_ns) {
  ++m.attempts;
  m.next_send_ns = now_ns + timing_.retry_ns;
  switch (m.phase) {
    case MigrationPhase::expect: io_.send_expect(m); break;
    case MigrationPhase::switching: io_.send_switch(m); break;
    case MigrationPhase::release: io_.send_release(m); break;
  }
}

void MigrationExecutor::finish(uint64_t id, MigrationOutcome o) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  const Migration m = it->second;
  by_stream_.erase(m.stream_id);
  active_.erase(it);
  io_.finished(m, o);
}

void MigrationExecutor::after_switch(Migration& m, uint32_t actual_seq, int64_t now_ns) {
  m.switch_unit_seq = actual_seq;
  if (m.source_dead) {
    finish(m.id, MigrationOutcome::completed);
    return;
  }
  enter(m, MigrationPhase::release, now_ns);
}

void MigrationExecutor::on_ack(uint64_t id, MigrationPhase phase, uint32_t switch_unit_seq, int64_t now_ns) {
  auto it = active_.find(id);
  if (it == active_.end() || it->second.phase != phase) return;
  Migration& m = it->second;
  switch (phase) {
    case MigrationPhase::expect: enter(m, MigrationPhase::switching, now_ns); break;
    case MigrationPhase::switching: after_switch(m, switch_unit_seq, now_ns); break;
    case MigrationPhase::release: finish(id, MigrationOutcome::completed); break;
  }
}

void MigrationExecutor::on_progress(uint32_t stream_id, uint32_t gateway, uint32_t last_unit_seq, int64_t now_ns) {
  auto s = by_stream_.find(stream_id);
  if (s == by_stream_.end()) return;
  Migration& m = active_.at(s->second);
  if (gateway == m.target_gateway && last_unit_seq != 0 &&
      (!m.target_reported || static_cast<int32_t>(last_unit_seq - m.target_last_seq) > 0)) {
    m.target_reported = true;
    m.target_last_seq = last_unit_seq;
  }
  // Signed distance so that a wrapped sequence number still compares right.
  const bool reached = static_cast<int32_t>(last_unit_seq - m.switch_unit_seq) >= 0;
  if (m.phase == MigrationPhase::switching && gateway == m.target_gateway && reached && last_unit_seq != 0)
    after_switch(m, m.switch_unit_seq, now_ns);
}

void MigrationExecutor::poll(int64_t now_ns) {
  std::vector<std::pair<uint64_t, MigrationOutcome>> ended;
  for (auto& [id, m] : active_) {
    if (now_ns < m.next_send_ns) continue;
    if (m.attempts <= timing_.retries) {
      send(m, now_ns);
      continue;
    }
    switch (m.phase) {
      case MigrationPhase::expect: ended.emplace_back(id, MigrationOutcome::aborted_expect); break;
      case MigrationPhase::switching: ended.emplace_back(id, MigrationOutcome::aborted_switch); break;
      case MigrationPhase::release: ended.emplace_back(id, MigrationOutcome::completed_unacked); break;
    }
  }
  for (auto [id, o] : ended) finish(id, o);
}

std::optional<Migration> MigrationExecutor::cancel(uint32_t stream_id) {
  auto s = by_stream_.find(stream_id);
  if (s == by_stream_.end()) return std::nullopt;
  auto it = active_.find(s->second);
  Migration m = it->second;
  active_.erase(it);
  by_stream_.erase(s);
  return m;
}

int64_t MigrationExecutor::next_deadline_ns() const {
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& [id, m] : active_) next = std::min(next, m.next_send_ns);
  return next;
}

const Migration* MigrationExecutor::find(uint64_t id) const {
  auto it = active_.find(id);
  return it == active_.end() ? nullptr : &it->second;
}

std::vector<Migration> MigrationExecutor::list() const {
  std::vector<Migration> out;
  for (const auto& [id, m] : active_) out.push_back(m);
  return out;
}

}  // namespace aigw::controller
