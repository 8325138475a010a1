#include "protocol/envelope.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "protocol/byte_order.h"

namespace aigw {

using namespace wire;

static_assert(crypto_auth_BYTES == kEnvelopeMacSize, "MAC size");
static_assert(crypto_auth_KEYBYTES == kControlKeySize, "key size");

const char* to_string(MessageType t) {
  switch (t) {
    case MessageType::load_sync: return "load_sync";
    case MessageType::stream_sync: return "stream_sync";
    case MessageType::admission_request: return "admission_request";
    case MessageType::admission_reply: return "admission_reply";
    case MessageType::retransmit_request: return "retransmit_request";
    case MessageType::steer_command: return "steer_command";
    case MessageType::migrate_command: return "migrate_command";
    case MessageType::heartbeat: return "heartbeat";
    case MessageType::gpu_register: return "gpu_register";
    case MessageType::gpu_load_sync: return "gpu_load_sync";
    case MessageType::stream_close: return "stream_close";
    case MessageType::unit_ack: return "unit_ack";
    case MessageType::stream_assign: return "stream_assign";
    case MessageType::migrate_ack: return "migrate_ack";
    case MessageType::gateway_register: return "gateway_register";
    case MessageType::peer_keys: return "peer_keys";
  }
  return "unknown";
}

const char* to_string(EnvelopeError e) {
  switch (e) {
    case EnvelopeError::ok: return "ok";
    case EnvelopeError::truncated: return "truncated";
    case EnvelopeError::bad_magic: return "bad_magic";
    case EnvelopeError::bad_version: return "bad_version";
    case EnvelopeError::bad_type: return "bad_type";
    case EnvelopeError::length_mismatch: return "length_mismatch";
    case EnvelopeError::unknown_key: return "unknown_key";
    case EnvelopeError::bad_mac: return "bad_mac";
    case EnvelopeError::replayed: return "replayed";
    case EnvelopeError::too_large: return "too_large";
    case EnvelopeError::key_role: return "key_role";
    case EnvelopeError::stale: return "stale";
  }
  return "unknown";
}

const ControlKey* KeyRing::find(uint32_t key_id) const {
  auto it = keys_.find(key_id);
  return it == keys_.end() ? nullptr : &it->second;
}

bool KeyRing::parse_hex(const std::string& hex, ControlKey& out) {
  size_t bin_len = 0;
  if (hex.size() != 2 * kControlKeySize) return false;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &bin_len, nullptr) != 0)
    return false;
  return bin_len == kControlKeySize;
}

std::string KeyRing::to_hex(const ControlKey& key) {
  char hex[2 * kControlKeySize + 1];
  sodium_bin2hex(hex, sizeof hex, key.data(), key.size());
  return hex;
}

EnvelopeSealer::EnvelopeSealer(uint32_t sender_id, uint32_t key_id, const ControlKey& key,
                               uint64_t first_counter)
    : sender_id_(sender_id), key_id_(key_id), key_(key), counter_(first_counter == 0 ? 1 : first_counter) {
  // Idempotent and thread-safe; returns -1 only when no entropy source exists, which
  // the MAC (no randomness) does not need.
  [[maybe_unused]] const int rc = sodium_init();
}

bool EnvelopeSealer::seal_with(uint32_t key_id, const ControlKey& key, MessageType type, const uint8_t* body,
                               size_t body_len, std::vector<uint8_t>& out) {
  if (body_len + kEnvelopeOverhead > kMaxControlDatagram) return false;
  if (clock_ != nullptr) counter_ = std::max(counter_, clock_());
  out.resize(kEnvelopeHeaderSize + body_len + kEnvelopeMacSize);
  uint8_t* p = out.data();
  put_u16(p, kEnvelopeMagic);
  put_u8(p + 2, kEnvelopeVersion);
  put_u8(p + 3, static_cast<uint8_t>(type));
  put_u32(p + 4, sender_id_);
  put_u32(p + 8, key_id);
  put_u64(p + 12, counter_++);
  put_u32(p + 20, static_cast<uint32_t>(body_len));
  if (body_len) std::memcpy(p + kEnvelopeHeaderSize, body, body_len);
  crypto_auth(p + kEnvelopeHeaderSize + body_len, p, kEnvelopeHeaderSize + body_len, key.data());
  return true;
}

EnvelopeError peek_envelope(const uint8_t* p, size_t len, EnvelopeView& out) {
  if (len < kEnvelopeOverhead) return EnvelopeError::truncated;
  if (len > kMaxControlDatagram) return EnvelopeError::too_large;
  if (get_u16(p) != kEnvelopeMagic) return EnvelopeError::bad_magic;
  if (get_u8(p + 2) != kEnvelopeVersion) return EnvelopeError::bad_version;
  uint8_t type = get_u8(p + 3);
  if (type == 0 || type > kMaxMessageType) return EnvelopeError::bad_type;
  uint32_t body_len = get_u32(p + 20);
  if (size_t{body_len} + kEnvelopeOverhead != len) return EnvelopeError::length_mismatch;
  out.type = static_cast<MessageType>(type);
  out.sender_id = get_u32(p + 4);
  out.key_id = get_u32(p + 8);
  out.counter = get_u64(p + 12);
  out.body = p + kEnvelopeHeaderSize;
  out.body_len = body_len;
  return EnvelopeError::ok;
}

EnvelopeError EnvelopeOpener::open(const uint8_t* p, size_t len, EnvelopeView& out) {
  EnvelopeView v;
  EnvelopeError e = peek_envelope(p, len, v);
  if (e != EnvelopeError::ok) return e;
  ControlKey key;
  switch (keys_.key_for(v.key_id, v.sender_id, key)) {
    case KeyLookup::found: break;
    case KeyLookup::unknown_key: return EnvelopeError::unknown_key;
    case KeyLookup::key_role: return EnvelopeError::key_role;
  }
  const size_t signed_len = kEnvelopeHeaderSize + v.body_len;
  const bool authentic = crypto_auth_verify(p + signed_len, p, signed_len, key.data()) == 0;
  sodium_memzero(key.data(), key.size());
  if (!authentic) return EnvelopeError::bad_mac;
  auto it = windows_.find(v.sender_id);
  if (it == windows_.end()) {
    if (v.counter < not_before_) {
      last_stale_by_ = not_before_ - v.counter;
      return EnvelopeError::stale;
    }
    // Full: the sender heard from longest ago (lowest newest counter) makes room, never
    // the lowest id, so a flood of fresh device ids cannot push a gateway out.
    if (windows_.size() >= max_senders_) {
      auto oldest = windows_.begin();
      for (auto w = windows_.begin(); w != windows_.end(); ++w)
        if (w->second.highest() < oldest->second.highest()) oldest = w;
      windows_.erase(oldest);
    }
    it = windows_.emplace(v.sender_id, ReplayWindow{}).first;
  }
  if (!it->second.fresh(v.counter)) {
    if (v.counter + ReplayWindow::kWidth <= it->second.highest()) {
      last_stale_by_ = it->second.highest() - v.counter;
      return EnvelopeError::stale;
    }
    return EnvelopeError::replayed;
  }
  it->second.accept(v.counter);
  out = v;
  return EnvelopeError::ok;
}

uint64_t envelope_counter_start() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

}  // namespace aigw
