/* aigw edge SDK: per-unit end-to-end encryption and integrity, for both ends.
 *
 * Every unit on the wire ends in a 4-byte big-endian CRC32C trailer over what precedes
 * it (the protocol's end-to-end digest). An encrypted unit's content is
 *
 *     nonce (24 bytes, random) || ciphertext || tag (16 bytes)
 *
 * from libsodium's crypto_aead_xchacha20poly1305_ietf (present since libsodium 1.0.12)
 * with the stream id and unit sequence number, big-endian, as associated data: a
 * gateway forwards bytes it cannot read, and a unit replayed under another stream or
 * sequence number fails to open. The device seals inside aigw_edge_send_unit(); the
 * GPU side calls aigw_unit_open(). All functions are pure and thread-safe. */
#ifndef AIGW_EDGE_CRYPTO_H
#define AIGW_EDGE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "aigw/edge_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AIGW_UNIT_KEY_BYTES 32
#define AIGW_UNIT_DIGEST_BYTES 4
/** Bytes an encrypted wire unit adds to the plaintext: nonce, tag and digest. */
#define AIGW_UNIT_SEAL_OVERHEAD (24 + 16 + AIGW_UNIT_DIGEST_BYTES)

/** Encrypts `plain` into a wire unit (content and digest) in `out`; `cap` must be at
 *  least len + AIGW_UNIT_SEAL_OVERHEAD. Sets *out_len. */
AIGW_EDGE_API int aigw_unit_seal(const uint8_t key[AIGW_UNIT_KEY_BYTES], uint32_t stream_id,
                                 uint32_t unit_seq, const void* plain, size_t len, uint8_t* out,
                                 size_t cap, size_t* out_len);

/** Checks the digest of a wire unit and decrypts it into `out` (cap >= wire_len -
 *  AIGW_UNIT_SEAL_OVERHEAD). Returns AIGW_ERR_DIGEST when the trailer does not match
 *  (transport damage), AIGW_ERR_AUTH when the tag does not verify (wrong key, wrong
 *  stream/sequence, or tampering), AIGW_ERR_BUFFER when `out` is too small. */
AIGW_EDGE_API int aigw_unit_open(const uint8_t key[AIGW_UNIT_KEY_BYTES], uint32_t stream_id,
                                 uint32_t unit_seq, const uint8_t* wire, size_t wire_len,
                                 uint8_t* out, size_t cap, size_t* out_len);

/** Checks the digest of a plain (unencrypted) wire unit; on AIGW_OK *content_len is the
 *  application's byte count (wire_len - AIGW_UNIT_DIGEST_BYTES). */
AIGW_EDGE_API int aigw_unit_verify(const uint8_t* wire, size_t wire_len, size_t* content_len);

/** The control key node `node` of `role` ("gateway", "device" or "gpu") holds, derived
 *  from a cluster master key (what `aigwctl key derive` prints). For provisioning tools
 *  and test clusters: a device itself is given only its own key, never the master. */
AIGW_EDGE_API int aigw_derive_node_key(const uint8_t master[32], const char* role, uint32_t node, uint8_t out[32]);

#ifdef __cplusplus
}
#endif

#endif /* AIGW_EDGE_CRYPTO_H */
