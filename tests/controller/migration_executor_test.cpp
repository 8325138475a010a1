#include "controller/migration/migration_executor.h"

#include <gtest/gtest.h>

namespace aigw::controller {
namespace {

constexpr int64_t kMs = 1000000;

struct Recorder : MigrationIo {
  std::vector<std::string> log;
  std::vector<std::pair<uint64_t, MigrationOutcome>> done;
  uint32_t last_switch_seq = 0;
  void send_expect(const Migration& m) override { log.push_back("expect:" + std::to_string(m.target_gateway)); }
  void send_switch(const Migration& m) override {
    log.push_back("switch:" + std::to_string(m.switch_unit_seq));
    last_switch_seq = m.switch_unit_seq;
  }
  void send_release(const Migration& m) override {
    log.push_back("release:" + std::to_string(m.source_gateway) + "@" + std::to_string(m.switch_unit_seq));
  }
  void finished(const Migration& m, MigrationOutcome o) override { done.emplace_back(m.id, o); }
};

TEST(MigrationExecutor, MakeBeforeBreakInOrder) {
  Recorder io;
  MigrationExecutor ex(io, 100);
  const uint64_t id = ex.start(7, 1, 2, 50, false, "balance", 0);
  EXPECT_EQ(id, 100u);
  EXPECT_TRUE(ex.migrating(7));
  EXPECT_EQ(ex.start(7, 1, 3, 50, false, "balance", 0), 0u);  // one at a time
  EXPECT_EQ(io.log, (std::vector<std::string>{"expect:2"}));
  ex.on_ack(id, MigrationPhase::switching, 50, 1 * kMs);  // wrong phase: ignored
  EXPECT_EQ(io.log.size(), 1u);
  ex.on_ack(id, MigrationPhase::expect, 50, 1 * kMs);
  EXPECT_EQ(io.log.back(), "switch:50");
  // The device switched one unit later than asked: RELEASE names the actual unit.
  ex.on_ack(id, MigrationPhase::switching, 51, 2 * kMs);
  EXPECT_EQ(io.log.back(), "release:1@51");
  ex.on_ack(id, MigrationPhase::release, 51, 3 * kMs);
  ASSERT_EQ(io.done.size(), 1u);
  EXPECT_EQ(io.done[0].second, MigrationOutcome::completed);
  EXPECT_FALSE(ex.migrating(7));
  EXPECT_EQ(ex.size(), 0u);
}

TEST(MigrationExecutor, RetriesThenAbortsWithoutExpectAck) {
  Recorder io;
  MigrationExecutor ex(io, 1);
  ex.set_timing({200 * kMs, 2});
  ex.start(7, 1, 2, 50, false, "balance", 0);
  EXPECT_EQ(ex.next_deadline_ns(), 200 * kMs);
  ex.poll(199 * kMs);
  EXPECT_EQ(io.log.size(), 1u);
  ex.poll(200 * kMs);
  ex.poll(400 * kMs);
  EXPECT_EQ(io.log.size(), 3u);  // first send + 2 retries
  EXPECT_TRUE(io.done.empty());
  ex.poll(600 * kMs);
  ASSERT_EQ(io.done.size(), 1u);
  EXPECT_EQ(io.done[0].second, MigrationOutcome::aborted_expect);
}

TEST(MigrationExecutor, LostSwitchAckIsRecoveredFromTheTargetsProgress) {
  Recorder io;
  MigrationExecutor ex(io, 1);
  const uint64_t id = ex.start(7, 1, 2, 50, false, "balance", 0);
  ex.on_ack(id, MigrationPhase::expect, 50, kMs);
  ex.on_progress(7, 1, 55, 2 * kMs);  // the source's progress says nothing
  ex.on_progress(7, 2, 49, 2 * kMs);  // the target has not reached the switch point
  EXPECT_EQ(io.log.back(), "switch:50");
  ex.on_progress(7, 2, 50, 3 * kMs);
  EXPECT_EQ(io.log.back(), "release:1@50");
}

TEST(MigrationExecutor, SwitchTimeoutAborts) {
  Recorder io;
  MigrationExecutor ex(io, 1);
  ex.set_timing({10 * kMs, 1});
  const uint64_t id = ex.start(7, 1, 2, 50, false, "balance", 0);
  ex.on_ack(id, MigrationPhase::expect, 50, 0);
  ex.poll(10 * kMs);
  ex.poll(20 * kMs);
  ASSERT_EQ(io.done.size(), 1u);
  EXPECT_EQ(io.done[0].second, MigrationOutcome::aborted_switch);
}

TEST(MigrationExecutor, UnackedReleaseStillCompletes) {
  Recorder io;
  MigrationExecutor ex(io, 1);
  ex.set_timing({10 * kMs, 0});
  const uint64_t id = ex.start(7, 1, 2, 50, false, "balance", 0);
  ex.on_ack(id, MigrationPhase::expect, 50, 0);
  ex.on_ack(id, MigrationPhase::switching, 50, 0);
  ex.poll(10 * kMs);
  ASSERT_EQ(io.done.size(), 1u);
  EXPECT_EQ(io.done[0].second, MigrationOutcome::completed_unacked);
}

TEST(MigrationExecutor, FailoverHasNoRelease) {
  Recorder io;
  MigrationExecutor ex(io, 1);
  const uint64_t id = ex.start(7, 1, 2, 91, true, "gateway_dead", 0);
  ex.on_ack(id, MigrationPhase::expect, 91, 0);
  ex.on_ack(id, MigrationPhase::switching, 93, 0);
  EXPECT_EQ(io.log, (std::vector<std::string>{"expect:2", "switch:91"}));
  ASSERT_EQ(io.done.size(), 1u);
  EXPECT_EQ(io.done[0].second, MigrationOutcome::completed);
}

TEST(MigrationExecutor, SequenceWrapCountsAsReached) {
  Recorder io;
  MigrationExecutor ex(io, 1);
  const uint64_t id = ex.start(7, 1, 2, 0xFFFFFFFEu, false, "balance", 0);
  ex.on_ack(id, MigrationPhase::expect, 0, 0);
  ex.on_progress(7, 2, 3, 0);  // wrapped past the switch point
  EXPECT_EQ(io.log.back(), "release:1@4294967294");
}

TEST(MigrationExecutor, CancelReturnsTheMigrationAsItStoodAndTellsNoOne) {
  Recorder io;
  MigrationExecutor ex(io, 1);
  EXPECT_FALSE(ex.cancel(7).has_value());
  const uint64_t id = ex.start(7, 1, 2, 50, false, "balance", 0);
  ex.on_ack(id, MigrationPhase::expect, 50, 1 * kMs);
  ex.on_ack(id, MigrationPhase::switching, 52, 2 * kMs);
  // The target's StreamSync: units up to 55 finished there; the source's says nothing.
  ex.on_progress(7, 1, 60, 3 * kMs);
  ex.on_progress(7, 2, 55, 3 * kMs);
  ex.on_progress(7, 2, 54, 3 * kMs);  // an older report does not move it back
  const size_t sent = io.log.size();
  const std::optional<Migration> m = ex.cancel(7);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->id, id);
  EXPECT_EQ(m->phase, MigrationPhase::release);
  EXPECT_EQ(m->switch_unit_seq, 52u);
  EXPECT_EQ(m->planned_switch_seq, 50u);
  EXPECT_TRUE(m->target_reported);
  EXPECT_EQ(m->target_last_seq, 55u);
  EXPECT_FALSE(ex.migrating(7));
  EXPECT_TRUE(io.done.empty());
  ex.poll(10'000 * kMs);
  EXPECT_EQ(io.log.size(), sent) << "nothing re-sent after a cancel";
  ex.on_ack(id, MigrationPhase::release, 52, 11'000 * kMs);  // a late ack is ignored
  EXPECT_TRUE(io.done.empty());
}

}  // namespace
}  // namespace aigw::controller
