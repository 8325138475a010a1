#include "protocol/envelope.h"

#include <gtest/gtest.h>

#include "protocol/control.pb.h"
#include "protocol/replay_window.h"

namespace aigw {
namespace {

ControlKey key(uint8_t fill) {
  ControlKey k{};
  k.fill(fill);
  return k;
}

struct Fixture : ::testing::Test {
  KeyRing ring;
  RingKeys keys{ring};
  Fixture() { ring.add(7, key(0x11)); }
  std::vector<uint8_t> sealed(EnvelopeSealer& s, const std::string& body = "hello") {
    std::vector<uint8_t> out;
    EXPECT_TRUE(s.seal(MessageType::heartbeat, body, out));
    return out;
  }
};

TEST_F(Fixture, RoundTripCarriesAProtobuf) {
  ctl::LoadSync ls;
  ls.set_gateway_id(3);
  ls.add_ports()->set_port(9000);
  EnvelopeSealer s(42, 7, key(0x11), 100);
  std::vector<uint8_t> out;
  ASSERT_TRUE(s.seal(MessageType::load_sync, ls.SerializeAsString(), out));
  EnvelopeOpener o(keys);
  EnvelopeView v;
  ASSERT_EQ(o.open(out.data(), out.size(), v), EnvelopeError::ok);
  EXPECT_EQ(v.type, MessageType::load_sync);
  EXPECT_EQ(v.sender_id, 42u);
  EXPECT_EQ(v.counter, 100u);
  ctl::LoadSync back;
  ASSERT_TRUE(back.ParseFromArray(v.body, static_cast<int>(v.body_len)));
  EXPECT_EQ(back.ports(0).port(), 9000u);
}

TEST_F(Fixture, ReplayIsRejected) {
  EnvelopeSealer s(1, 7, key(0x11), 1);
  auto m = sealed(s);
  EnvelopeOpener o(keys);
  EnvelopeView v;
  EXPECT_EQ(o.open(m.data(), m.size(), v), EnvelopeError::ok);
  EXPECT_EQ(o.open(m.data(), m.size(), v), EnvelopeError::replayed);
}

TEST_F(Fixture, ReorderWithinWindowAcceptedOnce) {
  EnvelopeSealer s(1, 7, key(0x11), 1);
  auto a = sealed(s);
  auto b = sealed(s);
  EnvelopeOpener o(keys);
  EnvelopeView v;
  EXPECT_EQ(o.open(b.data(), b.size(), v), EnvelopeError::ok);
  EXPECT_EQ(o.open(a.data(), a.size(), v), EnvelopeError::ok);
  EXPECT_EQ(o.open(a.data(), a.size(), v), EnvelopeError::replayed);
}

TEST_F(Fixture, ForgedMacRejectedAndDoesNotAdvanceWindow) {
  EnvelopeSealer forger(1, 7, key(0x99), 1000);  // right key id, wrong key
  auto f = sealed(forger);
  EnvelopeOpener o(keys);
  EnvelopeView v;
  EXPECT_EQ(o.open(f.data(), f.size(), v), EnvelopeError::bad_mac);
  EnvelopeSealer honest(1, 7, key(0x11), 5);
  auto h = sealed(honest);
  EXPECT_EQ(o.open(h.data(), h.size(), v), EnvelopeError::ok);
}

// Key 8 speaks for sender 2 only, key 7 for everyone.
class RoleKeys final : public KeySource {
 public:
  KeyLookup key_for(uint32_t key_id, uint32_t sender_id, ControlKey& out) const override {
    if (key_id == 8 && sender_id != 2) return KeyLookup::key_role;
    if (key_id != 7 && key_id != 8) return KeyLookup::unknown_key;
    out = key(key_id == 7 ? 0x11 : 0x22);
    return KeyLookup::found;
  }
};

TEST_F(Fixture, AKeyOfAnotherRoleCannotMoveASendersWindow) {
  RoleKeys roles;
  EnvelopeOpener o(roles);
  EnvelopeSealer impostor(1, 8, key(0x22), ~uint64_t{0} - 1);  // sender 1's id, a huge counter
  auto f = sealed(impostor);
  EnvelopeView v;
  EXPECT_EQ(o.open(f.data(), f.size(), v), EnvelopeError::key_role);
  EnvelopeSealer honest(1, 7, key(0x11), 5);
  auto h = sealed(honest);
  EXPECT_EQ(o.open(h.data(), h.size(), v), EnvelopeError::ok) << "sender 1's window did not move";
  EnvelopeSealer own(2, 8, key(0x22), 5);
  auto g = sealed(own);
  EXPECT_EQ(o.open(g.data(), g.size(), v), EnvelopeError::ok);
}

TEST_F(Fixture, AnEnvelopeSealedBeforeTheReceiverStartedIsStaleNotReplayable) {
  EnvelopeSealer s(1, 7, key(0x11), 1000);
  auto captured = sealed(s);  // counter 1000, sealed "before" the receiver below started
  EnvelopeOpener restarted(keys);
  restarted.set_not_before(5000);
  EnvelopeView v;
  EXPECT_EQ(restarted.open(captured.data(), captured.size(), v), EnvelopeError::stale);
  EXPECT_EQ(restarted.last_stale_by(), 4000u);
  EnvelopeSealer later(1, 7, key(0x11), 6000);
  auto fresh = sealed(later);
  EXPECT_EQ(restarted.open(fresh.data(), fresh.size(), v), EnvelopeError::ok);
}

TEST_F(Fixture, ACounterBehindTheWindowIsStaleAndADuplicateReplayed) {
  EnvelopeSealer early(1, 7, key(0x11), 10);
  auto old = sealed(early);
  EnvelopeSealer now(1, 7, key(0x11), 1000);
  auto current = sealed(now);
  EnvelopeOpener o(keys);
  EnvelopeView v;
  ASSERT_EQ(o.open(current.data(), current.size(), v), EnvelopeError::ok);
  EXPECT_EQ(o.open(current.data(), current.size(), v), EnvelopeError::replayed);
  // A sender whose clock went back lands here, told apart from a duplicate.
  EXPECT_EQ(o.open(old.data(), old.size(), v), EnvelopeError::stale);
}

uint64_t fake_wall = 0;
uint64_t fake_clock() { return fake_wall; }

TEST_F(Fixture, CountersFollowTheClockAndNeverGoBack) {
  EnvelopeSealer s(1, 7, key(0x11), 1);
  s.set_clock(fake_clock);
  fake_wall = 500;
  EnvelopeOpener o(keys);
  EnvelopeView v;
  auto a = sealed(s);
  ASSERT_EQ(o.open(a.data(), a.size(), v), EnvelopeError::ok);
  EXPECT_EQ(v.counter, 500u);
  fake_wall = 100;  // the clock stepped back
  auto b = sealed(s);
  ASSERT_EQ(o.open(b.data(), b.size(), v), EnvelopeError::ok);
  EXPECT_EQ(v.counter, 501u);
  fake_wall = 9000;
  auto c = sealed(s);
  ASSERT_EQ(o.open(c.data(), c.size(), v), EnvelopeError::ok);
  EXPECT_EQ(v.counter, 9000u);
}

TEST_F(Fixture, SealWithUsesTheGivenKeyAndTheSameCounter) {
  ring.add(9, key(0x33));
  EnvelopeSealer s(1, 7, key(0x11), 40);
  std::vector<uint8_t> out;
  ASSERT_TRUE(s.seal_with(9, key(0x33), MessageType::heartbeat, std::string("x"), out));
  EnvelopeOpener o(keys);
  EnvelopeView v;
  ASSERT_EQ(o.open(out.data(), out.size(), v), EnvelopeError::ok);
  EXPECT_EQ(v.key_id, 9u);
  EXPECT_EQ(v.counter, 40u);
  EXPECT_EQ(s.next_counter(), 41u);
}

TEST_F(Fixture, AFullWindowTableDropsTheSenderHeardFromLongestAgoNotTheLowestId) {
  EnvelopeOpener o(keys, 2);
  EnvelopeView v;
  EnvelopeSealer gateway(1, 7, key(0x11), 900);  // lowest id, heard most recently
  EnvelopeSealer quiet(5, 7, key(0x11), 100);
  EnvelopeSealer newcomer(6, 7, key(0x11), 950);
  auto q = sealed(quiet), g = sealed(gateway), n = sealed(newcomer);
  ASSERT_EQ(o.open(q.data(), q.size(), v), EnvelopeError::ok);
  ASSERT_EQ(o.open(g.data(), g.size(), v), EnvelopeError::ok);
  ASSERT_EQ(o.open(n.data(), n.size(), v), EnvelopeError::ok);
  EXPECT_EQ(o.open(g.data(), g.size(), v), EnvelopeError::replayed) << "sender 1 kept its window";
  EXPECT_EQ(o.open(q.data(), q.size(), v), EnvelopeError::ok) << "sender 5's window went first";
}

TEST_F(Fixture, TamperedBodyRejected) {
  EnvelopeSealer s(1, 7, key(0x11), 1);
  auto m = sealed(s);
  m[kEnvelopeHeaderSize] ^= 0x01;
  EnvelopeOpener o(keys);
  EnvelopeView v;
  EXPECT_EQ(o.open(m.data(), m.size(), v), EnvelopeError::bad_mac);
}

TEST_F(Fixture, HeaderErrors) {
  EnvelopeSealer s(1, 7, key(0x11), 1);
  auto m = sealed(s);
  EnvelopeOpener o(keys);
  EnvelopeView v;
  EXPECT_EQ(o.open(m.data(), 10, v), EnvelopeError::truncated);
  auto p = m;
  p[0] = 0;
  EXPECT_EQ(o.open(p.data(), p.size(), v), EnvelopeError::bad_magic);
  p = m;
  p[2] = 9;
  EXPECT_EQ(o.open(p.data(), p.size(), v), EnvelopeError::bad_version);
  p = m;
  p[3] = 0;
  EXPECT_EQ(o.open(p.data(), p.size(), v), EnvelopeError::bad_type);
  p = m;
  p.push_back(0);
  EXPECT_EQ(o.open(p.data(), p.size(), v), EnvelopeError::length_mismatch);
  EnvelopeSealer other(1, 8, key(0x11), 1);
  auto u = sealed(other);
  EXPECT_EQ(o.open(u.data(), u.size(), v), EnvelopeError::unknown_key);
}

TEST(ReplayWindow, SlidesAndForgetsOldCounters) {
  ReplayWindow w;
  EXPECT_FALSE(w.fresh(0));
  w.accept(10);
  EXPECT_FALSE(w.fresh(10));
  EXPECT_TRUE(w.fresh(9));
  w.accept(200);
  EXPECT_FALSE(w.fresh(9));    // fell out of the window
  EXPECT_TRUE(w.fresh(150));   // inside, not seen
  w.accept(150);
  EXPECT_FALSE(w.fresh(150));
  EXPECT_FALSE(w.fresh(136));  // 200 - 64
  EXPECT_TRUE(w.fresh(137));
}

TEST(KeyRing, ParsesHexKeys) {
  ControlKey k;
  EXPECT_TRUE(KeyRing::parse_hex(std::string(64, 'a'), k));
  EXPECT_EQ(k[0], 0xAA);
  EXPECT_FALSE(KeyRing::parse_hex(std::string(63, 'a'), k));
  EXPECT_FALSE(KeyRing::parse_hex(std::string(64, 'z'), k));
}

}  // namespace
}  // namespace aigw
