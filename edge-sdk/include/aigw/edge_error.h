/* aigw edge SDK: error codes shared by every function of the C ABI.
 *
 * Every function that can fail returns an int: AIGW_OK (0) or one of the negative
 * codes below. aigw_strerror() names them. The SDK never throws across the ABI. */
#ifndef AIGW_EDGE_ERROR_H
#define AIGW_EDGE_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define AIGW_EDGE_API __attribute__((visibility("default")))
#else
#define AIGW_EDGE_API
#endif

enum aigw_error {
  AIGW_OK = 0,
  AIGW_ERR_INVALID_ARG = -1,        /**< a null pointer, out-of-range value or malformed address */
  AIGW_ERR_STRUCT_SIZE = -2,        /**< a struct's size field is smaller than any known version */
  AIGW_ERR_NO_MEMORY = -3,          /**< the allocator hook (or the system) returned NULL */
  AIGW_ERR_STATE = -4,              /**< call not allowed now (lifecycle misuse, wrong mode) */
  AIGW_ERR_UNKNOWN_STREAM = -5,     /**< no open stream with that id on this handle */
  AIGW_ERR_TIMEOUT = -6,            /**< the controller did not answer in time */
  AIGW_ERR_REJECTED_CAPACITY = -7,  /**< admission refused: no gateway can take the demand */
  AIGW_ERR_REJECTED_NO_GPU = -8,    /**< admission refused: no GPU server serves the model */
  AIGW_ERR_REJECTED_INVALID = -9,   /**< admission refused: the controller found the request malformed */
  AIGW_ERR_REJECTED_NO_GATEWAY = -10, /**< admission refused: no live gateway */
  AIGW_ERR_IO = -11,                /**< a socket call failed (errno is left as the system set it) */
  AIGW_ERR_TOO_LARGE = -12,         /**< unit larger than the stream's profile or the wire allows */
  AIGW_ERR_BUSY = -13,              /**< retransmit store full: wait for pacing to drain it */
  AIGW_ERR_INFEASIBLE = -14,        /**< planner: no split meets the latency target */
  AIGW_ERR_AUTH = -15,              /**< AEAD open failed: wrong key or tampered unit */
  AIGW_ERR_DIGEST = -16,            /**< unit CRC32C trailer does not match its content */
  AIGW_ERR_BUFFER = -17,            /**< caller's output buffer too small */
  AIGW_ERR_CLOSED = -18,            /**< the stream is closing or was lost; open a new one */
  AIGW_ERR_CRYPTO = -19             /**< libsodium could not be initialised */
};

/** Static, human-readable name of an error code ("invalid argument"); never NULL. */
AIGW_EDGE_API const char* aigw_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* AIGW_EDGE_ERROR_H */
