/* The C side of bench/edge-sdk/python_send_bench.py: times aigw_edge_send_unit() on a
 * 672 KB unit through a real controller and gateway. Each unit is sent once the one
 * before it has left (so the retransmit store never refuses it); only the call is timed.
 * Prints {"units":N,"send_seconds":S,"calls":[seconds of each call]}.
 *
 *   send_call_bench --controller 127.0.0.1:7700 --key HEX64 --device-id 5 --units 50 */
#define _POSIX_C_SOURCE 200112L
#include <aigw/edge.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define UNIT_BYTES (672 * 1024)
#define FRAGMENTS ((UNIT_BYTES + AIGW_UNIT_DIGEST_BYTES + 727) / 728) /* default max_payload */

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  const char *controller = NULL, *key_hex = NULL;
  unsigned long device_id = 5, units = 50, period_ms = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--controller")) controller = argv[i + 1];
    else if (!strcmp(argv[i], "--key")) key_hex = argv[i + 1];
    else if (!strcmp(argv[i], "--device-id")) device_id = strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--units")) units = strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--period-ms")) period_ms = strtoul(argv[i + 1], NULL, 10);
    else return 64;
  }
  uint8_t key[32];
  if (controller == NULL || key_hex == NULL || strlen(key_hex) != 64) return 64;
  for (int i = 0; i < 32; ++i) {
    unsigned v;
    if (sscanf(key_hex + 2 * i, "%2x", &v) != 1) return 64;
    key[i] = (uint8_t)v;
  }
  aigw_edge_options o;
  aigw_edge_options_init(&o);
  o.controller = controller;
  o.device_id = (uint32_t)device_id;
  o.key_id = 1;
  o.key = key;
  o.mode = AIGW_MODE_THREAD;
  o.log_level = AIGW_LOG_WARN;
  aigw_edge* edge = NULL;
  if (aigw_edge_create(&o, &edge) != AIGW_OK) return 69;
  aigw_stream_profile p;
  aigw_stream_profile_init(&p);
  p.unit_bytes = UNIT_BYTES;
  p.period_ms = (uint32_t)period_ms;
  p.model = "bench";
  p.pace_bytes_per_s = 2e8; /* the same as the Python side */
  aigw_stream_info info;
  memset(&info, 0, sizeof info);
  info.size = sizeof info;
  int rc = aigw_edge_open_stream(edge, &p, &info);
  if (rc != AIGW_OK) {
    fprintf(stderr, "open_stream: %s\n", aigw_strerror(rc));
    return 69;
  }
  uint8_t* unit = malloc(UNIT_BYTES);
  for (size_t i = 0; i < UNIT_BYTES; ++i) unit[i] = (uint8_t)(i * 131u);
  double in_send = 0;
  double* calls = calloc(units ? units : 1, sizeof(double));
  unsigned long sent = 0;
  for (; sent < units; ++sent) {
    aigw_stream_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    /* Wait (bounded) until the previous unit has left. */
    const double deadline = now_s() + 2.0;
    /* Polled every 100 us, as the Python side does: a tight loop would contend for the
     * handle's lock with the thread that sends. */
    const struct timespec pause = {0, 100000};
    for (;;) {
      aigw_edge_stream_stats(edge, info.stream_id, &s);
      if (s.units_sent == 0 || s.fragments_sent >= s.units_sent * FRAGMENTS || now_s() >= deadline) break;
      nanosleep(&pause, NULL);
    }
    const double t0 = now_s();
    rc = aigw_edge_send_unit(edge, info.stream_id, unit, UNIT_BYTES);
    calls[sent] = now_s() - t0;
    in_send += calls[sent];
    if (rc != AIGW_OK) {
      fprintf(stderr, "send_unit: %s\n", aigw_strerror(rc));
      break;
    }
  }
  printf("{\"units\":%lu,\"send_seconds\":%.9f,\"calls\":[", sent, in_send);
  for (unsigned long i = 0; i < sent; ++i) printf("%s%.9f", i ? "," : "", calls[i]);
  printf("]}\n");
  free(calls);
  free(unit);
  aigw_edge_destroy(edge);
  return sent == units ? 0 : 69;
}
