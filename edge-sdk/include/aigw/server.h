/* aigw server SDK: receive AI data units at a GPU server from the aigw gateway cluster.
 *
 *   aigw_server_create()       registers with the controller (id, models, capacity) and
 *                              opens the data socket gateways send whole units to
 *   aigw_server_next_unit()    the next verified unit, or use the on_unit callback
 *   aigw_server_release()      hands the unit's buffer back to the library
 *   aigw_server_destroy()      tells the controller the server leaves, frees everything
 *
 * Behind the calls the handle reassembles each unit from the gateway's fragments, asks
 * the gateway for missing ones (RetransmitRequest), checks the unit digest, opens
 * end-to-end encrypted units (the edge SDK's XChaCha20-Poly1305, aigw/edge_crypto.h)
 * in place, acknowledges each verified unit to the gateway (UnitAck) and reports its
 * load to the controller every period (GpuLoadSync).
 *
 * Zero copy: a unit's bytes are reassembled into one buffer (from the allocator hook
 * when set) and handed to the application as they lie; the pointer stays valid until
 * aigw_server_release(). Back-pressure: units the application holds count towards the
 * load the server reports, so the controller steers new streams elsewhere; when the
 * memory budget is used up, incomplete units are dropped and counted (units_lost), never
 * silently.
 *
 * Threads: as in aigw/edge.h. All functions may be called from any thread; the handle
 * serialises them with a lock. on_unit runs on the thread inside aigw_server_process()
 * (event-loop mode) or on the handle's thread (thread mode), never with the lock held. */
#ifndef AIGW_SERVER_H
#define AIGW_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "aigw/edge.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AIGW_SERVER_VERSION "0.1.0"

typedef struct aigw_server aigw_server;

/** Flags of a delivered unit. */
enum aigw_unit_flags {
  AIGW_UNIT_DECRYPTED = 1, /**< was end-to-end encrypted; `data` is the opened plaintext */
  AIGW_UNIT_SEALED = 2,    /**< encrypted, but the server has no key for the stream:
                                `data` is the wire content (nonce || ciphertext || tag) */
  AIGW_UNIT_RECOVERED = 4  /**< completed only after NACKs to the gateway */
};

/** One unit handed to the application; everything stays valid until released. */
typedef struct aigw_unit {
  uint32_t size;                  /**< sizeof(aigw_unit) */
  uint64_t token;                 /**< pass to aigw_server_release() */
  uint32_t stream_id;
  uint32_t unit_seq;
  const char* model;              /**< the model the stream is served by (see docs/sdk.md) */
  uint8_t* data;                  /**< the application's bytes, writable */
  size_t length;
  uint32_t flags;                 /**< enum aigw_unit_flags */
  uint32_t nack_rounds;
  uint32_t retransmitted_fragments;
  int64_t first_fragment_ns;      /**< clock base of the server */
  int64_t completed_ns;
  char gateway_address[AIGW_ADDRESS_CHARS]; /**< the egress that sent it */
  uint16_t gateway_port;
} aigw_unit;

/** Called for each verified unit (see the threading note at the top). The unit stays
 *  held until aigw_server_release(unit->token), from any thread. */
typedef void (*aigw_unit_fn)(void* user, const aigw_unit* unit);

/** Per-model load the application measured (aigw_server_report_load). */
typedef struct aigw_model_load {
  const char* model;
  uint32_t queued_units;
  double batch_latency_ms;
} aigw_model_load;

typedef struct aigw_server_options {
  uint32_t size;                  /**< sizeof(aigw_server_options) */
  const char* controller;         /**< controller bypass address "host:port" */
  uint32_t gpu_id;                /**< 1 .. 2^24-1; also the envelope sender id */
  uint32_t key_id;
  const uint8_t* key;             /**< AIGW_CONTROL_KEY_BYTES control key; copied */
  const char* const* models;      /**< model names served; at least one */
  size_t model_count;
  double capacity_units_per_s;    /**< announced in GpuRegister; 0: 1000 */
  const char* data_bind;          /**< "host:port" gateways send to; NULL: 127.0.0.1:0 */
  const char* control_bind;       /**< NULL: the data address's host, port 0 */
  const char* advertise;          /**< data address announced when it differs from the
                                       bound one (e.g. a relay in front); NULL: bound */
  int mode;                       /**< enum aigw_edge_mode */
  uint32_t period_ms;             /**< load report period; 0: 1000 */
  uint32_t register_every_periods; /**< GpuRegister repeated every N periods; 0: 10 */
  uint32_t max_unit_bytes;        /**< largest wire unit accepted; 0: 16 MiB */
  size_t memory_budget_bytes;     /**< units in flight plus held; 0: 256 MiB */
  uint32_t max_held_units;        /**< units the application may hold at once; 0: 256 */
  uint32_t unit_deadline_ms;      /**< an incomplete unit is lost after this; 0: 3000 */
  const uint8_t* payload_key;     /**< AIGW_UNIT_KEY_BYTES, opens every encrypted unit
                                       (per stream: aigw_server_set_stream_key); NULL: none */
  aigw_clock_fn clock;            /**< NULL: CLOCK_MONOTONIC (custom: event-loop mode only) */
  void* clock_user;
  aigw_log_fn log;
  void* log_user;
  int log_level;
  aigw_alloc_fn alloc;            /**< unit buffers come from here (pinned memory, ...);
                                       must return 64-byte aligned memory. NULL: new[] */
  aigw_free_fn free;
  void* alloc_user;
  aigw_unit_fn on_unit;           /**< NULL: units queue for aigw_server_next_unit() */
  void* unit_user;
} aigw_server_options;

typedef struct aigw_server_counters {
  uint32_t size;                  /**< sizeof(aigw_server_counters) */
  uint64_t datagrams;             /**< read from the data socket */
  uint64_t malformed;             /**< data header did not decode */
  uint64_t streams_refused;       /**< over the stream table */
  uint64_t units_completed;       /**< reassembled whole */
  uint64_t units_verified;        /**< digest (and tag) good: delivered */
  uint64_t units_corrupt;         /**< digest mismatch: not acknowledged, the gateway resends */
  uint64_t units_auth_failed;     /**< digest good but the AEAD tag did not verify */
  uint64_t units_lost;            /**< incomplete at the deadline, or evicted over budget */
  uint64_t units_refused_held;    /**< verified, but max_held_units were held: not acked */
  uint64_t units_held;            /**< delivered and not yet released, now */
  uint64_t bytes_held;            /**< their buffer bytes, now */
  uint64_t acks_sent;
  uint64_t nacks_sent;
  uint64_t syncs_sent;
  uint64_t control_received;      /**< datagrams on the control socket */
  uint64_t send_errors;
  double last_load;               /**< the load of the last GpuLoadSync */
  uint64_t control_rejected;      /**< control datagrams that did not authenticate, or from a role that may not send them */
  uint64_t pair_keys_learned;     /**< gateways' pair keys taken from the controller's PeerKeys */
  uint64_t no_pair_key;           /**< acks/NACKs not sent: no pair key for that gateway yet */
} aigw_server_counters;

AIGW_EDGE_API void aigw_server_options_init(aigw_server_options* o);

/** Opens the sockets, registers with the controller, starts the thread in thread mode. */
AIGW_EDGE_API int aigw_server_create(const aigw_server_options* options, aigw_server** out);

/** Sends GpuRegister{leaving}, stops the thread, frees the handle. Units still held are
 *  invalid afterwards. NULL is accepted. Not from inside on_unit. */
AIGW_EDGE_API void aigw_server_destroy(aigw_server* server);

/** The bound data address ("127.0.0.1:40001"), NUL-terminated into `buf`. */
AIGW_EDGE_API int aigw_server_data_address(aigw_server* server, char* buf, size_t cap);

/** Waits up to `timeout_ms` (0: do not wait, -1: no limit) for the next queued unit.
 *  AIGW_ERR_TIMEOUT when none came; AIGW_ERR_STATE when on_unit is set. In event-loop
 *  mode it drives the handle itself while it waits. */
AIGW_EDGE_API int aigw_server_next_unit(aigw_server* server, aigw_unit* unit, int timeout_ms);

/** Gives a delivered unit's buffer back. AIGW_ERR_INVALID_ARG for an unknown token. */
AIGW_EDGE_API int aigw_server_release(aigw_server* server, uint64_t token);

/** Sets the key that opens the encrypted units of one stream (NULL: back to the default
 *  payload_key). */
AIGW_EDGE_API int aigw_server_set_stream_key(aigw_server* server, uint32_t stream_id,
                                             const uint8_t* key);

/** The application's own load measure (busy fraction, 0..1, and per-model queues) for
 *  the next reports. The reported load is the larger of it and the share of the memory
 *  budget the application holds; reported queues add the units it holds. */
AIGW_EDGE_API int aigw_server_report_load(aigw_server* server, double load,
                                          const aigw_model_load* models, size_t count);

/** Event-loop mode: descriptor to poll for readability, and the call that does the work
 *  due at `now_ns` (delivering units to on_unit or the queue). AIGW_ERR_STATE in thread
 *  mode. */
AIGW_EDGE_API int aigw_server_fd(aigw_server* server);
AIGW_EDGE_API int aigw_server_process(aigw_server* server, int64_t now_ns);
AIGW_EDGE_API int64_t aigw_server_next_deadline(aigw_server* server);

AIGW_EDGE_API int aigw_server_get_counters(aigw_server* server, aigw_server_counters* counters);

#ifdef __cplusplus
}
#endif

#endif /* AIGW_SERVER_H */
