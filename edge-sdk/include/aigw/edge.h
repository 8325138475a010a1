/* aigw edge SDK: stream AI data units from a device to the aigw gateway cluster.
 *
 *   aigw_edge_create()       one handle per device: controller address, device id, key
 *   aigw_edge_open_stream()  admission by the controller; returns the assigned gateway
 *   aigw_edge_send_unit()    fragments, paces and sends one unit; keeps it for NACKs
 *   aigw_edge_close_stream() tells the controller; answers late NACKs for a while
 *   aigw_edge_destroy()      closes what is open and frees everything
 *
 * Behind the calls the handle answers NACKs (RetransmitRequest from a gateway, on the
 * device's control port) with exactly the missing fragments, follows MigrateCommand
 * SWITCH to a new gateway at a unit boundary, and sends heartbeats to the controller.
 * Control messages travel in the authenticated envelope (docs/protocol.md).
 *
 * Two ways to drive it, chosen at create time:
 *  - AIGW_MODE_EVENT_LOOP: the application polls aigw_edge_fd() for readability (it
 *    becomes readable on control traffic and when a timer is due) and then calls
 *    aigw_edge_process(). Nothing runs in the background.
 *  - AIGW_MODE_THREAD: the handle owns one background thread that does the same.
 *
 * Threads and callbacks: all functions may be called from any thread; the handle
 * serialises them with an internal lock. The log, allocator and clock hooks may be
 * called from inside any SDK call and from the background thread. The event callback
 * runs only on the thread inside aigw_edge_process() (event-loop mode) or on the
 * background thread (thread mode), never while the internal lock is held, so it may
 * call any function except aigw_edge_destroy().
 *
 * Every struct begins with `size`: set it to sizeof(struct) (the *_init functions do),
 * so a library built from a newer header still reads an older caller's structs. */
#ifndef AIGW_EDGE_H
#define AIGW_EDGE_H

#include <stddef.h>
#include <stdint.h>

#include "aigw/edge_crypto.h"
#include "aigw/edge_error.h"
#include "aigw/edge_planner.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AIGW_EDGE_VERSION "0.1.0"
#define AIGW_CONTROL_KEY_BYTES 32
#define AIGW_ADDRESS_CHARS 64

typedef struct aigw_edge aigw_edge;

enum aigw_edge_mode {
  AIGW_MODE_EVENT_LOOP = 0, /**< the application calls aigw_edge_process() */
  AIGW_MODE_THREAD = 1      /**< a background thread owned by the handle does */
};

enum aigw_data_path {
  AIGW_DATA_PATH_AUTO = 0,  /**< UDP GSO (one send per run of fragments) when the kernel
                                 has UDP_SEGMENT, else one datagram per fragment (logged) */
  AIGW_DATA_PATH_PLAIN = 1  /**< one datagram per fragment, batched with sendmmsg */
};

enum aigw_log_level {
  AIGW_LOG_DEBUG = 0,
  AIGW_LOG_INFO = 1,
  AIGW_LOG_WARN = 2,
  AIGW_LOG_ERROR = 3,
  AIGW_LOG_OFF = 4
};

/** One log line: `event` is a short name ("admitted"), `fields` logfmt key=value text. */
typedef void (*aigw_log_fn)(void* user, int level, const char* event, const char* fields);
/** Allocation hook: like malloc; must return memory aligned for any type, or NULL. */
typedef void* (*aigw_alloc_fn)(void* user, size_t size);
/** Release hook matching aigw_alloc_fn. */
typedef void (*aigw_free_fn)(void* user, void* ptr);
/** Monotonic clock in nanoseconds (default CLOCK_MONOTONIC). */
typedef int64_t (*aigw_clock_fn)(void* user);

enum aigw_event_type {
  AIGW_EVENT_MIGRATED = 1,           /**< units from `unit_seq` on go to the new gateway */
  AIGW_EVENT_UNIT_UNRECOVERABLE = 2, /**< a gateway asked for unit `unit_seq`, no longer stored:
                                          the GPU side will report it lost */
  AIGW_EVENT_STREAM_CLOSED = 3       /**< the controller ended the stream (no gateway can take
                                          it); send_unit now fails, open a new stream later */
};

typedef struct aigw_event {
  uint32_t size;
  int type;                       /**< enum aigw_event_type */
  uint32_t stream_id;
  uint32_t unit_seq;
  uint32_t gateway_id;            /**< AIGW_EVENT_MIGRATED: the new gateway */
  char gateway_address[AIGW_ADDRESS_CHARS];
  uint16_t gateway_port;
} aigw_event;

/** Called with each event; see the threading note at the top. */
typedef void (*aigw_event_fn)(void* user, const aigw_event* event);

typedef struct aigw_edge_options {
  uint32_t size;                  /**< sizeof(aigw_edge_options) */
  const char* controller;         /**< controller bypass address, "host:port" or "[v6]:port" */
  uint32_t device_id;             /**< nonzero; also the envelope sender id */
  uint32_t key_id;                /**< id of `key` in the cluster's key ring */
  const uint8_t* key;             /**< AIGW_CONTROL_KEY_BYTES control key; copied */
  const char* control_bind;       /**< local "host:port" for control traffic; NULL: any, port 0 */
  const char* data_bind;          /**< local "host:port" data is sent from; NULL: any, port 0 */
  const char* advertise_address;  /**< address gateways reach the device at; NULL: the
                                       local address that routes to the controller */
  int mode;                       /**< enum aigw_edge_mode */
  uint32_t heartbeat_ms;          /**< heartbeat period; 0: 1000 */
  uint32_t admission_timeout_ms;  /**< open_stream gives up after this; 0: 5000 */
  uint32_t request_retry_ms;      /**< AdmissionRequest resent after this; 0: 500 */
  uint32_t max_payload;           /**< fragment payload bytes; 0: 728 */
  uint32_t store_units;           /**< units kept per stream for retransmission; 0: 4 */
  uint32_t store_ttl_ms;          /**< a stored unit expires after this; 0: 3000 */
  aigw_clock_fn clock;            /**< NULL: CLOCK_MONOTONIC */
  void* clock_user;
  aigw_log_fn log;                /**< NULL: logfmt lines on stderr */
  void* log_user;
  int log_level;                  /**< enum aigw_log_level; lines below it are not built */
  aigw_alloc_fn alloc;            /**< NULL: malloc/free; set both or neither. Used for the
                                       handle, stream state and unit buffers; the protocol
                                       engine's retransmit store takes its buffers from
                                       operator new as a stream starts, then reuses them */
  aigw_free_fn free;
  void* alloc_user;
  aigw_event_fn on_event;         /**< NULL: events are only counted */
  void* event_user;
  int data_path;                  /**< enum aigw_data_path (added in 0.2; a 0.1 struct
                                       without it gets AIGW_DATA_PATH_AUTO) */
} aigw_edge_options;

typedef struct aigw_stream_profile {
  uint32_t size;                  /**< sizeof(aigw_stream_profile) */
  uint32_t unit_bytes;            /**< largest unit the application will send, bytes */
  uint32_t period_ms;             /**< one unit per period */
  const char* model;              /**< model the GPU side must run (steering); may be "" */
  double pace_bytes_per_s;        /**< sending rate; 0: twice the stream's average rate */
  const uint8_t* payload_key;     /**< NULL: plain units; else AIGW_UNIT_KEY_BYTES, units
                                       are sealed with aigw_unit_seal() (copied) */
} aigw_stream_profile;

typedef struct aigw_stream_info {
  uint32_t size;                  /**< sizeof(aigw_stream_info) */
  uint32_t stream_id;             /**< assigned by the controller */
  uint32_t gateway_id;
  char gateway_address[AIGW_ADDRESS_CHARS];
  uint16_t gateway_port;
  uint32_t gpu_id;
  uint32_t first_unit_seq;        /**< sequence number of the stream's first unit */
} aigw_stream_info;

typedef struct aigw_stream_stats {
  uint32_t size;                  /**< sizeof(aigw_stream_stats) */
  uint32_t stream_id;
  uint64_t units_sent;            /**< units accepted by send_unit */
  uint64_t fragments_sent;        /**< first transmissions */
  uint64_t fragments_resent;      /**< retransmissions answering NACKs */
  uint64_t bytes_sent;            /**< headers and payloads, both kinds */
  uint64_t nacks_received;
  uint64_t nacks_unanswerable;    /**< NACKs for units no longer stored */
  uint64_t units_expired;         /**< left the store by age */
  uint64_t units_evicted;         /**< left the store early: D newer units or its budget */
  uint64_t migrations;
  uint32_t next_unit_seq;
  uint32_t gateway_id;            /**< current gateway */
  char gateway_address[AIGW_ADDRESS_CHARS];
  uint16_t gateway_port;
} aigw_stream_stats;

/** Handle-wide counters: control traffic the device refused, by reason, and socket
 *  errors. Nothing untrusted is dropped without being counted here. */
typedef struct aigw_edge_counters {
  uint32_t size;                  /**< sizeof(aigw_edge_counters) */
  uint64_t control_received;      /**< datagrams read from the control socket */
  uint64_t control_bad_envelope;  /**< failed the envelope checks (format, key, MAC, replay) */
  uint64_t control_bad_body;      /**< authentic, but the message did not parse or was invalid */
  uint64_t control_wrong_sender;  /**< a message type the sender's role may not send */
  uint64_t control_unexpected;    /**< a message type (or migration phase) devices do not take */
  uint64_t control_unknown_stream; /**< about a stream this handle does not have */
  uint64_t stale_replies;         /**< admission replies to no pending request */
  uint64_t nacks_malformed;       /**< NACKs that did not match the stored unit */
  uint64_t heartbeats_sent;
  uint64_t controller_heartbeats; /**< heartbeat answers from the controller */
  int64_t controller_seen_ns;     /**< clock time of the last controller message; 0: never */
  uint64_t control_send_errors;   /**< control datagrams the kernel refused */
  uint64_t fragment_send_errors;  /**< fragments the kernel refused (not for a full buffer) */
  uint64_t send_blocked;          /**< times the socket buffer was full (fragments kept) */
} aigw_edge_counters;

/** Library version string, e.g. "0.1.0". */
AIGW_EDGE_API const char* aigw_edge_version(void);

/** Fills `o` with defaults (all zero/NULL, size set). */
AIGW_EDGE_API void aigw_edge_options_init(aigw_edge_options* o);
AIGW_EDGE_API void aigw_stream_profile_init(aigw_stream_profile* p);

/** Creates a handle: binds the control and data sockets, starts the background thread
 *  in AIGW_MODE_THREAD. On error *out is NULL. */
AIGW_EDGE_API int aigw_edge_create(const aigw_edge_options* options, aigw_edge** out);

/** Closes every open stream (StreamClose to the controller), stops the thread, frees
 *  the handle. NULL is accepted. Not from inside the event callback. */
AIGW_EDGE_API void aigw_edge_destroy(aigw_edge* edge);

/** Asks the controller to admit a stream and blocks until the reply, a rejection
 *  (AIGW_ERR_REJECTED_*) or admission_timeout_ms (AIGW_ERR_TIMEOUT). In event-loop mode
 *  it processes control traffic of other streams while it waits. */
AIGW_EDGE_API int aigw_edge_open_stream(aigw_edge* edge, const aigw_stream_profile* profile,
                                        aigw_stream_info* info);

/** Sends one unit (`len` <= the profile's unit_bytes): copies it into the retransmit
 *  store, seals it when the stream has a payload key, appends the digest and sends the
 *  fragments the pacer allows now; process() or the thread sends the rest. Returns
 *  AIGW_ERR_BUSY when the store cannot take it yet. */
AIGW_EDGE_API int aigw_edge_send_unit(aigw_edge* edge, uint32_t stream_id, const void* data,
                                      size_t len);

/** Ends a stream: StreamClose to the controller; NACKs for its stored units are still
 *  answered until they expire, then the stream is forgotten. */
AIGW_EDGE_API int aigw_edge_close_stream(aigw_edge* edge, uint32_t stream_id);

/** Event-loop mode: the descriptor to poll for readability. AIGW_ERR_STATE in thread
 *  mode. Do not read from it or close it. */
AIGW_EDGE_API int aigw_edge_fd(aigw_edge* edge);

/** Event-loop mode: reads pending control datagrams, answers NACKs, sends paced
 *  fragments and heartbeats that are due at `now_ns` (the clock hook's time base).
 *  AIGW_ERR_STATE in thread mode. */
AIGW_EDGE_API int aigw_edge_process(aigw_edge* edge, int64_t now_ns);

/** Time (clock base, ns) at which process() next has timed work, INT64_MAX if none. */
AIGW_EDGE_API int64_t aigw_edge_next_deadline(aigw_edge* edge);

/** Per-stream statistics; also for closing streams until they are forgotten. */
AIGW_EDGE_API int aigw_edge_stream_stats(aigw_edge* edge, uint32_t stream_id,
                                         aigw_stream_stats* stats);

/** The same as one JSON object, NUL-terminated, into `buf`. *needed (optional) gets
 *  the length without the NUL; AIGW_ERR_BUFFER when `cap` is too small. */
AIGW_EDGE_API int aigw_edge_stream_stats_json(aigw_edge* edge, uint32_t stream_id, char* buf,
                                              size_t cap, size_t* needed);

/** Handle-wide counters (see aigw_edge_counters). */
AIGW_EDGE_API int aigw_edge_get_counters(aigw_edge* edge, aigw_edge_counters* counters);

#ifdef __cplusplus
}
#endif

#endif /* AIGW_EDGE_H */
