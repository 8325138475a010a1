// Per-unit AEAD and digest (edge_crypto.h). Only libsodium calls that 1.0.16 has.
#include <sodium.h>

#include <cstring>

#include "aigw/edge_crypto.h"
#include "protocol/byte_order.h"
#include "protocol/unit_digest.h"

namespace {

constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(kNonce + kTag + aigw::kUnitDigestSize == AIGW_UNIT_SEAL_OVERHEAD,
              "header constant matches libsodium");
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == AIGW_UNIT_KEY_BYTES, "key size");

void associated_data(uint32_t stream_id, uint32_t unit_seq, uint8_t ad[8]) {
  aigw::wire::put_u32(ad, stream_id);
  aigw::wire::put_u32(ad + 4, unit_seq);
}

}  // namespace

extern "C" int aigw_unit_seal(const uint8_t key[AIGW_UNIT_KEY_BYTES], uint32_t stream_id,
                              uint32_t unit_seq, const void* plain, size_t len, uint8_t* out,
                              size_t cap, size_t* out_len) {
  if (key == nullptr || (plain == nullptr && len > 0) || out == nullptr || out_len == nullptr)
    return AIGW_ERR_INVALID_ARG;
  if (cap < len || cap - len < AIGW_UNIT_SEAL_OVERHEAD) return AIGW_ERR_BUFFER;
  if (sodium_init() < 0) return AIGW_ERR_CRYPTO;
  uint8_t ad[8];
  associated_data(stream_id, unit_seq, ad);
  randombytes_buf(out, kNonce);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out + kNonce, &clen,
                                             static_cast<const unsigned char*>(plain), len, ad,
                                             sizeof ad, nullptr, out, key);
  *out_len = aigw::append_unit_digest(out, kNonce + static_cast<size_t>(clen));
  return AIGW_OK;
}

extern "C" int aigw_unit_open(const uint8_t key[AIGW_UNIT_KEY_BYTES], uint32_t stream_id,
                              uint32_t unit_seq, const uint8_t* wire, size_t wire_len,
                              uint8_t* out, size_t cap, size_t* out_len) {
  if (key == nullptr || wire == nullptr || out_len == nullptr || (out == nullptr && cap > 0))
    return AIGW_ERR_INVALID_ARG;
  if (wire_len < AIGW_UNIT_SEAL_OVERHEAD) return AIGW_ERR_DIGEST;
  if (!aigw::verify_unit_digest(wire, wire_len)) return AIGW_ERR_DIGEST;
  const size_t sealed = wire_len - aigw::kUnitDigestSize;
  const size_t plain_len = sealed - kNonce - kTag;
  if (cap < plain_len) return AIGW_ERR_BUFFER;
  if (sodium_init() < 0) return AIGW_ERR_CRYPTO;
  uint8_t ad[8];
  associated_data(stream_id, unit_seq, ad);
  unsigned long long mlen = 0;
  // A zero-length plaintext still needs a writable pointer for libsodium.
  uint8_t dummy = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain_len > 0 ? out : &dummy, &mlen, nullptr,
                                                 wire + kNonce, sealed - kNonce, ad, sizeof ad,
                                                 wire, key) != 0) {
    if (plain_len > 0) sodium_memzero(out, plain_len);
    return AIGW_ERR_AUTH;
  }
  *out_len = static_cast<size_t>(mlen);
  return AIGW_OK;
}

extern "C" int aigw_unit_verify(const uint8_t* wire, size_t wire_len, size_t* content_len) {
  if (wire == nullptr || content_len == nullptr) return AIGW_ERR_INVALID_ARG;
  if (!aigw::verify_unit_digest(wire, wire_len)) return AIGW_ERR_DIGEST;
  *content_len = wire_len - aigw::kUnitDigestSize;
  return AIGW_OK;
}
