// aigw-edge-stream: an example device program. It asks the controller for admission,
// then streams one feature tensor per period — synthetic, or read from a file in
// unit-sized chunks — through the SDK in event-loop mode, and prints the stream's
// statistics as JSON at the end. Build against an installed SDK with
//
//   c++ -std=c++17 edge_stream.cpp $(pkg-config --cflags --libs aigw-edge) -o aigw-edge-stream
//
// Exit codes (sysexits): 0 ok, 64 usage, 66 input file, 69 admission or sending failed.
#include <getopt.h>
#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "aigw/edge.hpp"

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitNoInput = 66;
constexpr int kExitUnavailable = 69;

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: aigw-edge-stream --controller HOST:PORT --device-id N --key HEX64\n"
               "         [--key-id N] [--unit-bytes N] [--period-ms N] [--units N]\n"
               "         [--model NAME] [--input FILE] [--payload-key HEX64] [--thread]\n"
               "         [--help]\n"
               "Streams one unit per period (default: 672 KB synthetic tensors, 1000 ms,\n"
               "10 units) and prints the stream statistics as JSON.\n");
}

bool parse_hex_key(const char* hex, uint8_t out[32]) {
  if (hex == nullptr || std::strlen(hex) != 64) return false;
  for (int i = 0; i < 32; ++i) {
    unsigned v = 0;
    if (std::sscanf(hex + 2 * i, "%2x", &v) != 1) return false;
    out[i] = static_cast<uint8_t>(v);
  }
  return true;
}

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// A synthetic feature tensor: deterministic per unit, so a receiver can check it.
void synthesize(std::vector<uint8_t>& unit, uint32_t seq) {
  uint32_t x = 2654435761u * (seq + 1);
  for (auto& b : unit) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
}

void on_event(void*, const aigw_event* ev) {
  if (ev->type == AIGW_EVENT_MIGRATED) {
    std::fprintf(stderr, "stream %u migrated to gateway %u (%s:%u) from unit %u\n", ev->stream_id,
                 ev->gateway_id, ev->gateway_address, ev->gateway_port, ev->unit_seq);
  } else if (ev->type == AIGW_EVENT_STREAM_CLOSED) {
    std::fprintf(stderr, "stream %u closed by the controller\n", ev->stream_id);
  }
}

// Runs the SDK's work (NACKs, pacing, heartbeats) until `until_ns`.
void pump(aigw::edge::Client& client, int64_t until_ns, bool thread_mode) {
  for (int64_t t = now_ns(); t < until_ns; t = now_ns()) {
    int64_t wait = until_ns;
    if (!thread_mode) wait = std::min(wait, client.next_deadline());
    int timeout_ms = wait <= t ? 0 : static_cast<int>((wait - t + 999999) / 1000000);
    if (thread_mode) {
      poll(nullptr, 0, timeout_ms);
      continue;
    }
    pollfd p{client.fd(), POLLIN, 0};
    poll(&p, 1, timeout_ms);
    client.process(now_ns());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* controller = nullptr;
  unsigned long device_id = 0;
  unsigned long key_id = 1;
  unsigned long unit_bytes = 672 * 1024;
  unsigned long period_ms = 1000;
  unsigned long units = 10;
  std::string model;
  const char* input = nullptr;
  uint8_t key[32];
  uint8_t payload_key[32];
  bool have_key = false;
  bool encrypt = false;
  bool thread_mode = false;

  static const option long_options[] = {
      {"controller", required_argument, nullptr, 'c'}, {"device-id", required_argument, nullptr, 'd'},
      {"key", required_argument, nullptr, 'k'},        {"key-id", required_argument, nullptr, 'K'},
      {"unit-bytes", required_argument, nullptr, 'b'}, {"period-ms", required_argument, nullptr, 'p'},
      {"units", required_argument, nullptr, 'n'},      {"model", required_argument, nullptr, 'm'},
      {"input", required_argument, nullptr, 'i'},      {"payload-key", required_argument, nullptr, 'e'},
      {"thread", no_argument, nullptr, 't'},           {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0}};
  for (int c; (c = getopt_long(argc, argv, "", long_options, nullptr)) != -1;) {
    switch (c) {
      case 'c': controller = optarg; break;
      case 'd': device_id = std::strtoul(optarg, nullptr, 10); break;
      case 'k': have_key = parse_hex_key(optarg, key); break;
      case 'K': key_id = std::strtoul(optarg, nullptr, 10); break;
      case 'b': unit_bytes = std::strtoul(optarg, nullptr, 10); break;
      case 'p': period_ms = std::strtoul(optarg, nullptr, 10); break;
      case 'n': units = std::strtoul(optarg, nullptr, 10); break;
      case 'm': model = optarg; break;
      case 'i': input = optarg; break;
      case 'e':
        encrypt = parse_hex_key(optarg, payload_key);
        if (!encrypt) {
          std::fprintf(stderr, "--payload-key needs 64 hex digits\n");
          return kExitUsage;
        }
        break;
      case 't': thread_mode = true; break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return kExitUsage;
    }
  }
  if (controller == nullptr || device_id == 0 || !have_key || unit_bytes == 0 || period_ms == 0) {
    usage(stderr);
    return kExitUsage;
  }

  std::vector<uint8_t> file_bytes;
  if (input != nullptr) {
    std::ifstream f(input, std::ios::binary);
    file_bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (!f.good() && !f.eof()) {
      std::fprintf(stderr, "cannot read %s\n", input);
      return kExitNoInput;
    }
    if (file_bytes.empty()) {
      std::fprintf(stderr, "%s is empty or unreadable\n", input);
      return kExitNoInput;
    }
  }

  aigw_edge_options options = aigw::edge::default_options();
  options.controller = controller;
  options.device_id = static_cast<uint32_t>(device_id);
  options.key_id = static_cast<uint32_t>(key_id);
  options.key = key;
  options.mode = thread_mode ? AIGW_MODE_THREAD : AIGW_MODE_EVENT_LOOP;
  options.on_event = on_event;
  aigw::edge::Client client;
  if (auto s = client.create(options); !s) {
    std::fprintf(stderr, "create: %s\n", s.message());
    return s.code() == AIGW_ERR_INVALID_ARG ? kExitUsage : kExitUnavailable;
  }

  aigw_stream_profile profile = aigw::edge::default_profile();
  profile.unit_bytes = static_cast<uint32_t>(unit_bytes);
  profile.period_ms = static_cast<uint32_t>(period_ms);
  profile.model = model.c_str();
  profile.payload_key = encrypt ? payload_key : nullptr;
  aigw_stream_info info{};
  if (auto s = client.open_stream(profile, info); !s) {
    std::fprintf(stderr, "admission: %s\n", s.message());
    return kExitUnavailable;
  }
  std::fprintf(stderr, "admitted: stream %u -> gateway %u at %s:%u (GPU %u)\n", info.stream_id,
               info.gateway_id, info.gateway_address, info.gateway_port, info.gpu_id);

  std::vector<uint8_t> unit(unit_bytes);
  size_t file_offset = 0;
  int64_t next = now_ns();
  for (unsigned long i = 0; i < units; ++i) {
    if (!file_bytes.empty()) {
      // File-backed tensors: consecutive unit-sized chunks, wrapping at the end.
      for (auto& b : unit) {
        b = file_bytes[file_offset];
        file_offset = (file_offset + 1) % file_bytes.size();
      }
    } else {
      synthesize(unit, static_cast<uint32_t>(i));
    }
    if (auto s = client.send_unit(info.stream_id, unit); !s) {
      std::fprintf(stderr, "send_unit %lu: %s\n", i, s.message());
      if (s.code() != AIGW_ERR_BUSY) return kExitUnavailable;
    }
    next += static_cast<int64_t>(period_ms) * 1000000;
    pump(client, next, thread_mode);
  }
  std::printf("%s\n", client.stats_json(info.stream_id).c_str());
  client.close_stream(info.stream_id);
  return 0;
}
