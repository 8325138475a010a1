// The authenticated control envelope. Every control message on the bypass plane is
//
//   0      2    3     4          8        12         20        24          24+n      24+n+32
//   | magic | ver | type | sender id | key id | counter | body len | body (n bytes) | MAC |
//
// big-endian, MAC = libsodium crypto_auth (HMAC-SHA-512-256) under the key named by
// key id, over header and body. Receivers reject an unknown key, a bad MAC, and a
// counter already seen or older than the replay window of that sender.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
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
};
inline constexpr uint8_t kMaxMessageType = 15;

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
  key_role,  ///< authentic, but the key may not speak as that sender (its role)
};
inline constexpr EnvelopeError kLastEnvelopeError = EnvelopeError::key_role;

const char* to_string(EnvelopeError e);

using ControlKey = std::array<uint8_t, kControlKeySize>;

/// Keys by id. Several may be live at once so keys can be rotated without downtime.
class KeyRing {
 public:
  void add(uint32_t key_id, const ControlKey& key) { keys_[key_id] = key; }
  void remove(uint32_t key_id) { keys_.erase(key_id); }
  const ControlKey* find(uint32_t key_id) const;
  bool empty() const { return keys_.empty(); }

  /// Parses a 64-hex-digit key; false when malformed.
  static bool parse_hex(const std::string& hex, ControlKey& out);

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

/// Seals messages from one sender: numbers them with a counter that stays monotonic
/// across restarts (it starts at the wall-clock time in nanoseconds).
class EnvelopeSealer {
 public:
  EnvelopeSealer(uint32_t sender_id, uint32_t key_id, const ControlKey& key, uint64_t first_counter);

  /// Writes the envelope of `body` into `out` (resized). Returns false when too large.
  bool seal(MessageType type, const uint8_t* body, size_t body_len, std::vector<uint8_t>& out);
  /// Convenience for a serialized protobuf.
  bool seal(MessageType type, const std::string& body, std::vector<uint8_t>& out) {
    return seal(type, reinterpret_cast<const uint8_t*>(body.data()), body.size(), out);
  }

  uint32_t sender_id() const { return sender_id_; }
  uint64_t next_counter() const { return counter_; }

 private:
  uint32_t sender_id_;
  uint32_t key_id_;
  ControlKey key_;
  uint64_t counter_;
};

/// Verifies envelopes and keeps one replay window per authenticated sender.
class EnvelopeOpener {
 public:
  explicit EnvelopeOpener(const KeyRing& keys, size_t max_senders = 65536)
      : keys_(keys), max_senders_(max_senders) {}

  /// On ok, `out` points into `data`. The replay window advances only for messages
  /// whose MAC verified and whose key may speak as the sender, so neither forgeries nor
  /// a key of another role (a device's, claiming a gateway's id with a huge counter)
  /// can move a sender's window and lock that sender out.
  EnvelopeError open(const uint8_t* data, size_t len, EnvelopeView& out);

  /// Which senders a key may speak as: asked after the MAC verified, before the replay
  /// window is touched. Unset: every key speaks for every sender.
  void set_sender_check(std::function<bool(uint32_t key_id, uint32_t sender_id)> check) {
    sender_check_ = std::move(check);
  }

  /// Forget a sender (e.g. a node that left), so its window does not pin memory.
  void forget(uint32_t sender_id) { windows_.erase(sender_id); }

 private:
  const KeyRing& keys_;
  size_t max_senders_;
  std::map<uint32_t, ReplayWindow> windows_;
  std::function<bool(uint32_t, uint32_t)> sender_check_;
};

/// Parses only the header fields (no MAC check): for diagnostics and fuzzing.
EnvelopeError peek_envelope(const uint8_t* data, size_t len, EnvelopeView& out);

/// A counter start that is monotonic across process restarts: wall-clock nanoseconds.
uint64_t envelope_counter_start();

}  // namespace aigw
