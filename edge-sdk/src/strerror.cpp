// Names of the C ABI's error codes (edge_error.h).
#include "aigw/edge_error.h"

extern "C" const char* aigw_strerror(int code) {
  switch (code) {
    case AIGW_OK: return "ok";
    case AIGW_ERR_INVALID_ARG: return "invalid argument";
    case AIGW_ERR_STRUCT_SIZE: return "struct size field too small (unknown struct version)";
    case AIGW_ERR_NO_MEMORY: return "out of memory";
    case AIGW_ERR_STATE: return "call not allowed in this state or mode";
    case AIGW_ERR_UNKNOWN_STREAM: return "unknown stream";
    case AIGW_ERR_TIMEOUT: return "controller did not answer in time";
    case AIGW_ERR_REJECTED_CAPACITY: return "admission rejected: no gateway capacity";
    case AIGW_ERR_REJECTED_NO_GPU: return "admission rejected: no GPU server for the model";
    case AIGW_ERR_REJECTED_INVALID: return "admission rejected: invalid request";
    case AIGW_ERR_REJECTED_NO_GATEWAY: return "admission rejected: no live gateway";
    case AIGW_ERR_IO: return "socket error";
    case AIGW_ERR_TOO_LARGE: return "unit too large";
    case AIGW_ERR_BUSY: return "retransmit store full";
    case AIGW_ERR_INFEASIBLE: return "no split meets the latency target";
    case AIGW_ERR_AUTH: return "unit authentication failed";
    case AIGW_ERR_DIGEST: return "unit digest mismatch";
    case AIGW_ERR_BUFFER: return "output buffer too small";
    case AIGW_ERR_CLOSED: return "stream closed";
    case AIGW_ERR_CRYPTO: return "crypto library unavailable";
    default: return "unknown error";
  }
}
