/* aigw-server-receive: a minimal GPU-server program on the server SDK (C99). Registers
 * with the controller, receives `--units` verified units into 64-byte aligned buffers
 * of its own (the allocator hook: where pinned memory for a GPU copy would come from),
 * prints one line per unit with an FNV-1a hash of its bytes, releases it, and exits.
 *
 *   aigw-server-receive --controller 127.0.0.1:7700 --gpu-id 1 --key <64 hex digits>
 *                       --model openpose --units 10 [--data-bind 127.0.0.1:0]
 *                       [--payload-key <64 hex digits>] [--timeout-ms 20000]
 *                       [--period-ms 1000]   (the controller's sync_period_ms)
 *
 * Exit codes: 0 all units received, 64 usage, 69 the library failed or units missing. */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include <aigw/server.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_key(const char* hex, uint8_t out[32]) {
  if (hex == NULL || strlen(hex) != 64) return 0;
  for (int i = 0; i < 32; ++i) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) return 0;
    out[i] = (uint8_t)v;
  }
  return 1;
}

static uint64_t fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

/* The allocator hook: counts what it hands out, so the program can show that every
 * unit buffer was its own memory. */
typedef struct {
  size_t buffers;
  size_t bytes;
} pool_stats;

static void* app_alloc(void* user, size_t n) {
  pool_stats* s = (pool_stats*)user;
  void* p = NULL;
  if (posix_memalign(&p, 64, n) == 0) {
    s->buffers++;
    s->bytes += n;
  }
  return p;
}

static void app_free(void* user, void* p) {
  (void)user;
  free(p);
}

int main(int argc, char** argv) {
  const char *controller = NULL, *key_hex = NULL, *model = "openpose", *data_bind = "127.0.0.1:0",
             *payload_hex = NULL;
  unsigned long gpu_id = 1, units = 1, timeout_ms = 20000, period_ms = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char* k = argv[i];
    const char* v = argv[i + 1];
    if (!strcmp(k, "--controller")) controller = v;
    else if (!strcmp(k, "--key")) key_hex = v;
    else if (!strcmp(k, "--model")) model = v;
    else if (!strcmp(k, "--data-bind")) data_bind = v;
    else if (!strcmp(k, "--payload-key")) payload_hex = v;
    else if (!strcmp(k, "--gpu-id")) gpu_id = strtoul(v, NULL, 10);
    else if (!strcmp(k, "--units")) units = strtoul(v, NULL, 10);
    else if (!strcmp(k, "--timeout-ms")) timeout_ms = strtoul(v, NULL, 10);
    else if (!strcmp(k, "--period-ms")) period_ms = strtoul(v, NULL, 10);
    else {
      fprintf(stderr, "unknown option %s\n", k);
      return 64;
    }
  }
  uint8_t key[32], payload_key[32];
  if (controller == NULL || !parse_key(key_hex, key) || (payload_hex && !parse_key(payload_hex, payload_key))) {
    fprintf(stderr, "usage: %s --controller host:port --key HEX64 [--gpu-id N] [--model M] [--units N]\n", argv[0]);
    return 64;
  }

  pool_stats pool = {0, 0};
  const char* models[] = {model};
  aigw_server_options o;
  aigw_server_options_init(&o);
  o.controller = controller;
  o.gpu_id = (uint32_t)gpu_id;
  o.key_id = 1;
  o.key = key;
  o.models = models;
  o.model_count = 1;
  o.data_bind = data_bind;
  o.mode = AIGW_MODE_THREAD;
  o.period_ms = (uint32_t)period_ms;
  o.payload_key = payload_hex ? payload_key : NULL;
  o.alloc = app_alloc;
  o.free = app_free;
  o.alloc_user = &pool;

  aigw_server* server = NULL;
  int rc = aigw_server_create(&o, &server);
  if (rc != AIGW_OK) {
    fprintf(stderr, "aigw_server_create: %s\n", aigw_strerror(rc));
    return 69;
  }
  char address[80];
  aigw_server_data_address(server, address, sizeof address);
  printf("listening %s\n", address);
  fflush(stdout);

  unsigned long got = 0;
  while (got < units) {
    aigw_unit u;
    memset(&u, 0, sizeof u);
    u.size = sizeof u;
    rc = aigw_server_next_unit(server, &u, (int)timeout_ms);
    if (rc != AIGW_OK) {
      fprintf(stderr, "aigw_server_next_unit: %s after %lu units\n", aigw_strerror(rc), got);
      break;
    }
    /* u.data lies in a buffer from app_alloc; no copy was made to get here. */
    printf("unit stream=%u seq=%u model=%s bytes=%zu flags=%u fnv=%016llx aligned=%d\n", u.stream_id, u.unit_seq,
           u.model, u.length, u.flags, (unsigned long long)fnv1a(u.data, u.length),
           (int)(((uintptr_t)(u.data - (u.flags & AIGW_UNIT_DECRYPTED ? 24 : 0)) % 64) == 0));
    fflush(stdout);
    aigw_server_release(server, u.token);
    ++got;
  }
  aigw_server_counters c;
  memset(&c, 0, sizeof c);
  c.size = sizeof c;
  aigw_server_get_counters(server, &c);
  printf("{\"units_verified\":%llu,\"units_corrupt\":%llu,\"units_lost\":%llu,\"acks_sent\":%llu,"
         "\"nacks_sent\":%llu,\"app_buffers\":%zu}\n",
         (unsigned long long)c.units_verified, (unsigned long long)c.units_corrupt, (unsigned long long)c.units_lost,
         (unsigned long long)c.acks_sent, (unsigned long long)c.nacks_sent, pool.buffers);
  aigw_server_destroy(server);
  return got == units ? 0 : 69;
}
