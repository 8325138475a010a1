/* aigw edge SDK: split-point planner (AMCA, adaptive model cutting).
 *
 * A split network runs layers 1..k on the device, sends layer k's output over the
 * uplink and runs layers k+1..N on a GPU server. For every k in 0..N the planner
 * computes the end-to-end latency
 *
 *     A(k) = sum_{i<=k} ED_i  +  8 * D_k / B  +  sum_{i>k} EC_i
 *
 * where ED_i / EC_i are layer i's time on the device / GPU server, D_k is the bytes
 * crossing the uplink (D_0 = the raw input, D_N = 0: nothing leaves the device) and B
 * the uplink rate in bit/s. Among the splits with A(k) <= target it returns the one
 * with the least device time (objective AIGW_PLAN_MIN_DEVICE_TIME) or the fewest
 * uplink bytes (AIGW_PLAN_MIN_BYTES). See docs/sdk.md for a worked example. */
#ifndef AIGW_EDGE_PLANNER_H
#define AIGW_EDGE_PLANNER_H

#include <stddef.h>
#include <stdint.h>

#include "aigw/edge_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Profile of one layer (measured or predicted by a regression model). */
typedef struct aigw_layer_profile {
  double edge_ms;         /**< ED_i: run time of the layer on the device, ms */
  double cloud_ms;        /**< EC_i: run time of the layer on the GPU server, ms */
  uint64_t output_bytes;  /**< D_i: size of the layer's output tensor, bytes */
} aigw_layer_profile;

enum aigw_plan_objective {
  AIGW_PLAN_MIN_DEVICE_TIME = 0, /**< least device time (saves device energy and CPU) */
  AIGW_PLAN_MIN_BYTES = 1        /**< fewest uplink bytes (saves gateway and radio bandwidth) */
};

typedef struct aigw_plan_request {
  uint32_t size;                      /**< sizeof(aigw_plan_request) */
  const aigw_layer_profile* layers;   /**< layers[0] is layer 1 */
  uint32_t layer_count;               /**< N >= 1 */
  uint64_t input_bytes;               /**< D_0: raw input sent when everything runs remotely */
  double uplink_bps;                  /**< B: uplink bandwidth, bit/s, > 0 */
  double latency_target_ms;           /**< the end-to-end budget, ms, > 0 */
  int objective;                      /**< enum aigw_plan_objective */
} aigw_plan_request;

typedef struct aigw_plan_result {
  uint32_t size;            /**< sizeof(aigw_plan_result), set by the caller */
  uint32_t split_layer;     /**< k: layers 1..k on the device (0 = all remote, N = all local) */
  double latency_ms;        /**< A(k) */
  double device_ms;         /**< sum_{i<=k} ED_i */
  double transfer_ms;       /**< 8 * D_k / B */
  double cloud_ms;          /**< sum_{i>k} EC_i */
  uint64_t transfer_bytes;  /**< D_k */
} aigw_plan_result;

/** Chooses the split layer. Returns AIGW_OK with the chosen split, or
 *  AIGW_ERR_INFEASIBLE with the lowest-latency split filled in when no split meets the
 *  target, or AIGW_ERR_INVALID_ARG / AIGW_ERR_STRUCT_SIZE. Pure function, any thread. */
AIGW_EDGE_API int aigw_plan_split(const aigw_plan_request* request, aigw_plan_result* result);

/** Latency A(k) of one given split, for tables and what-if analysis. */
AIGW_EDGE_API int aigw_plan_evaluate(const aigw_plan_request* request, uint32_t split_layer,
                                     aigw_plan_result* result);

#ifdef __cplusplus
}
#endif

#endif /* AIGW_EDGE_PLANNER_H */
