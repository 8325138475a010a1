// The authenticated control envelope. Every control message on the bypass plane is
//
//   0      2    3     4          8        12         20        24          24+n      24+n+32
//   | magic | ver | type | sender id | key id | counter | body len | body (n bytes) | MAC |
//
// big-endian, MAC = libsodium crypto_auth (HMAC-SHA-512-256) over header and body under
// the key the receiver's KeySource finds for (key id, sender id): a node key derived for
// that sender, or a gateway's pair key (docs/security.md). Receivers reject an unknown
// key, a bad MAC, a key that may not speak as the sender, a counter already seen, and a
// counter older than the sender's replay window or sealed before the receiver started.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "protocol/replay_window.h"

namespace aigw {

inline constexpr uint16_t kEnvelopeMagic = 0x4143;  // "AC"
inline constexpr uint8_t kEnvelopeVersion = 1;
inline constexpr size_t kEnvelopeHeaderSize = 24;
inline constexpr size_t kEnvelopeMacSize = 32;
inline constexpr size_t kEnvelopeOverhead = kEnvelopeHeaderSize + kEnvelopeMacSize;
inline constexpr size_t kControlKeySize = 32;
/// Largest control datagram: fits the IPv4 minimum-MTU-safe budget of 1400 bytes when
/// possible; larger syncs (many streams) are allowed up to one UDP datagram.
inline constexpr size_t kMaxControlDatagram = 65000;

/// Which protobuf message (protocol/control.proto) the body holds.
enum class MessageType : uint8_t {
  load_sync = 1,
  stream_sync = 2,
  admission_request = 3,
  admission_reply = 4,
  retransmit_request = 5,
  steer_command = 6,
  migrate_command = 7,
  heartbeat = 8,
  gpu_register = 9,
  gpu_load_sync = 10,
  stream_close = 11,
  unit_ack = 12,
  stream_assign = 13,
  migrate_ack = 14,
  gateway_register = 15,
  peer_keys = 16,
};
inline constexpr uint8_t kMaxMessageType = 16;

const char* to_string(MessageType t);

enum class EnvelopeError : uint8_t {
  ok = 0,
  truncated,
  bad_magic,
  bad_version,
  bad_type,
  length_mismatch,
  unknown_key,
  bad_mac,
  replayed,
  too_large,
  key_role,  ///< the key may not speak as that sender (its role)
  stale,     ///< older than the sender's window, or sealed before this receiver started
};
inline constexpr EnvelopeError kLastEnvelopeError = EnvelopeError::stale;
/// Counters indexed by EnvelopeError (ok included) have this many slots.
inline constexpr size_t kEnvelopeErrorCount = static_cast<size_t>(kLastEnvelopeError) + 1;

const char* to_string(EnvelopeError e);

using ControlKey = std::array<uint8_t, kControlKeySize>;

/// Keys by id. Several may be live at once so keys can be rotated without downtime.
/// A node holds its own node keys here, one per key generation (key id).
class KeyRing {
 public:
  void add(uint32_t key_id, const ControlKey& key) { keys_[key_id] = key; }
  void remove(uint32_t key_id) { keys_.erase(key_id); }
  const ControlKey* find(uint32_t key_id) const;
  bool empty() const { return keys_.empty(); }
  /// The highest key id held (the newest generation); 0 when empty.
  uint32_t newest_id() const { return keys_.empty() ? 0 : keys_.rbegin()->first; }

  /// Parses a 64-hex-digit key; false when malformed.
  static bool parse_hex(const std::string& hex, ControlKey& out);
  /// The 64 lower-case hex digits of a key (parse_hex's inverse).
  static std::string to_hex(const ControlKey& key);

 private:
  std::map<uint32_t, ControlKey> keys_;
};

struct EnvelopeView {
  MessageType type{};
  uint32_t sender_id = 0;
  uint32_t key_id = 0;
  uint64_t counter = 0;
  const uint8_t* body = nullptr;
  size_t body_len = 0;
};

/// What a KeySource answers for an envelope's (key id, sender id).
enum class KeyLookup : uint8_t { found, unknown_key, key_role };

/// Finds the key an envelope must be authenticated with. Keys bind the sender id: a node
/// key is derived from it, a pair key names one peer, so passing the MAC proves who sent.
class KeySource {
 public:
  virtual ~KeySource() = default;
  virtual KeyLookup key_for(uint32_t key_id, uint32_t sender_id, ControlKey& out) const = 0;
};

/// A clock for counters: wall-clock nanoseconds (the process shell passes the real one).
using WallClock = uint64_t (*)();

/// Seals messages from one sender. The counter is the wall clock in nanoseconds (never
/// less than the previous counter + 1), so receivers, even restarted ones, can refuse
/// envelopes sealed before they started; without a clock it just counts up.
class EnvelopeSealer {
 public:
  EnvelopeSealer(uint32_t sender_id, uint32_t key_id, const ControlKey& key, uint64_t first_counter);

  /// Counters follow `clock` from now on.
  void set_clock(WallClock clock) { clock_ = clock; }

  /// Writes the envelope of `body` into `out` (resized). Returns false when too large.
  bool seal(MessageType type, const uint8_t* body, size_t body_len, std::vector<uint8_t>& out) {
    return seal_with(key_id_, key_, type, body, body_len, out);
  }
  /// Convenience for a serialized protobuf.
  bool seal(MessageType type, const std::string& body, std::vector<uint8_t>& out) {
    return seal(type, reinterpret_cast<const uint8_t*>(body.data()), body.size(), out);
  }
  /// Seals under another key (the recipient's node key, a pair key), same counter.
  bool seal_with(uint32_t key_id, const ControlKey& key, MessageType type, const uint8_t* body, size_t body_len,
                 std::vector<uint8_t>& out);
  bool seal_with(uint32_t key_id, const ControlKey& key, MessageType type, const std::string& body,
                 std::vector<uint8_t>& out) {
    return seal_with(key_id, key, type, reinterpret_cast<const uint8_t*>(body.data()), body.size(), out);
  }

  uint32_t sender_id() const { return sender_id_; }
  uint32_t key_id() const { return key_id_; }
  uint64_t next_counter() const { return counter_; }

 private:
  uint32_t sender_id_;
  uint32_t key_id_;
  ControlKey key_;
  uint64_t counter_;
  WallClock clock_ = nullptr;
};

/// Verifies envelopes and keeps one replay window per authenticated sender.
class EnvelopeOpener {
 public:
  explicit EnvelopeOpener(const KeySource& keys, size_t max_senders = 65536)
      : keys_(keys), max_senders_(max_senders) {}

  /// Refuse (`stale`) a sender's first envelope when its counter is below `counter`:
  /// the shell passes its start time minus the allowed clock skew, so envelopes captured
  /// before a restart cannot be replayed into the fresh windows.
  void set_not_before(uint64_t counter) { not_before_ = counter; }

  /// On ok, `out` points into `data`. The replay window advances, and is created, only
  /// for messages whose key may speak as the sender and whose MAC verified, so a
  /// forgery or another node's key (claiming a gateway's id with a huge counter) can
  /// neither move a sender's window nor evict one.
  EnvelopeError open(const uint8_t* data, size_t len, EnvelopeView& out);

  /// Forget a sender (e.g. a node that left), so its window does not pin memory.
  void forget(uint32_t sender_id) { windows_.erase(sender_id); }

  /// After `stale`: how far (ns) the counter was behind what this receiver expected.
  uint64_t last_stale_by() const { return last_stale_by_; }

 private:
  const KeySource& keys_;
  size_t max_senders_;
  uint64_t not_before_ = 0;
  uint64_t last_stale_by_ = 0;
  std::map<uint32_t, ReplayWindow> windows_;
};

/// A KeySource over one key ring that every sender may use: for tools and tests that
/// play a single party (the fuzzers, diagnostic peeks).
class RingKeys final : public KeySource {
 public:
  explicit RingKeys(const KeyRing& ring) : ring_(ring) {}
  KeyLookup key_for(uint32_t key_id, uint32_t, ControlKey& out) const override {
    const ControlKey* k = ring_.find(key_id);
    if (k == nullptr) return KeyLookup::unknown_key;
    out = *k;
    return KeyLookup::found;
  }

 private:
  const KeyRing& ring_;
};

/// Parses only the header fields (no MAC check): for diagnostics and fuzzing.
EnvelopeError peek_envelope(const uint8_t* data, size_t len, EnvelopeView& out);

/// A counter start that is monotonic across process restarts: wall-clock nanoseconds.
uint64_t envelope_counter_start();
/// How far behind a receiver's start a sender's clock may be and its first envelope
/// still be taken (EnvelopeOpener::set_not_before): an envelope captured longer ago than
/// this before a receiver restarted cannot be replayed to it.
inline constexpr uint64_t kMaxClockSkewNs = 5'000'000'000ull;
/// The WallClock of real processes.
inline uint64_t envelope_wall_clock() { return envelope_counter_start(); }

}  // namespace aigw
