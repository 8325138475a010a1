// aigw-device-fleet: N edge devices in one process and one thread, each an edge SDK
// handle in event-loop mode with one stream, each sending one unit per period — the
// device side of the end-to-end transport benchmark (bench/e2e/run). Starts are spread
// evenly over the first period, as independent devices would be. At the end it prints
// one JSON object: units submitted, fragments sent and resent, NACKs, send errors and
// the process's CPU seconds (user + system), so the caller can put CPU per GB beside
// what the GPU side verified.
//
// With --udp-source it does not use the SDK at all: it sends the same byte rate as raw
// datagrams to N UDP ports (the input of a peer tool such as srt-live-transmit), paced
// per stream like the devices, so a baseline carries exactly the same load.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <array>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "aigw/edge.hpp"
#include "aigw/edge_crypto.h"

namespace {

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Deterministic content per (stream, unit): the GPU side verifies the digest the SDK
// appends, the content only has to differ between units.
void fill(std::vector<uint8_t>& unit, uint32_t stream, uint32_t seq) {
  uint32_t x = 2654435761u * (seq + 1) ^ (stream * 40503u);
  for (size_t i = 0; i + 4 <= unit.size(); i += 4) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    std::memcpy(&unit[i], &x, 4);
  }
}

bool parse_key(const std::string& hex, uint8_t out[32]) {
  if (hex.size() != 64) return false;
  for (int i = 0; i < 32; ++i) {
    unsigned v = 0;
    if (std::sscanf(hex.c_str() + 2 * i, "%2x", &v) != 1) return false;
    out[i] = static_cast<uint8_t>(v);
  }
  return true;
}

struct Options {
  std::string controller = "127.0.0.1:7700";
  std::string key_hex;
  uint32_t key_id = 1;
  uint32_t devices = 50;
  uint32_t first_device_id = 1;
  uint32_t unit_bytes = 687'500;
  uint32_t period_ms = 1000;
  double seconds = 15;
  double drain_seconds = 3;
  bool plain_path = false;  // one datagram per fragment instead of UDP GSO
  // --udp-source
  std::string udp_target = "127.0.0.1";
  uint16_t first_udp_port = 0;
  uint32_t datagram_bytes = 1316;
};

struct Device {
  std::array<uint8_t, 32> key{};  // its own, derived from the cluster master this tool is given
  aigw::edge::Client client;
  uint32_t stream_id = 0;
  int64_t next_unit_ns = 0;
  uint32_t seq = 0;
  uint64_t submitted = 0;
  uint64_t busy = 0;
};

// Creates device `i` and has its stream admitted; 0 or the exit code.
int open_device(const Options& o, const uint8_t master[32], uint32_t i, Device& d) {
  aigw_edge_options opt = aigw::edge::default_options();
  opt.controller = o.controller.c_str();
  opt.device_id = o.first_device_id + i;
  opt.key_id = o.key_id;
  if (aigw_derive_node_key(master, "device", opt.device_id, d.key.data()) != AIGW_OK) {
    std::cerr << "device id " << opt.device_id << " out of range\n";
    return 64;
  }
  opt.key = d.key.data();
  opt.mode = AIGW_MODE_EVENT_LOOP;
  opt.log_level = AIGW_LOG_WARN;
  opt.data_path = o.plain_path ? AIGW_DATA_PATH_PLAIN : AIGW_DATA_PATH_AUTO;
  if (auto s = d.client.create(opt); !s) {
    std::cerr << "device " << opt.device_id << ": create: " << s.message() << '\n';
    return 69;
  }
  aigw_stream_profile p = aigw::edge::default_profile();
  p.unit_bytes = o.unit_bytes;
  p.period_ms = o.period_ms;
  aigw_stream_info info{};
  if (auto s = d.client.open_stream(p, info); !s) {
    std::cerr << "device " << opt.device_id << ": admission: " << s.message() << '\n';
    return 69;
  }
  d.stream_id = info.stream_id;
  return 0;
}

// One unit per device and period for --seconds from t0, then --drain-seconds more of
// answering NACKs.
void send_units(const Options& o, std::vector<Device>& fleet, int64_t t0) {
  const int64_t period = int64_t{o.period_ms} * 1'000'000;
  const int64_t stop_sending = t0 + static_cast<int64_t>(o.seconds * 1e9);
  const int64_t stop = stop_sending + static_cast<int64_t>(o.drain_seconds * 1e9);
  for (uint32_t i = 0; i < o.devices; ++i) fleet[i].next_unit_ns = t0 + period * i / o.devices;
  std::vector<uint8_t> unit(o.unit_bytes);
  std::vector<pollfd> fds(o.devices, pollfd{-1, 0, 0});
  int64_t next_progress = t0 + 5'000'000'000;
  // Each device is served only when its socket is readable or its own deadline (pacing,
  // NACK answers, heartbeats, the next unit) is due, as a device's own loop would be.
  std::vector<int64_t> due(o.devices, t0);
  for (int64_t now = t0; now < stop; now = now_ns()) {
    int64_t wake = stop;
    for (uint32_t i = 0; i < o.devices; ++i) {
      Device& d = fleet[i];
      const bool readable = (fds[i].revents & POLLIN) != 0;
      if (d.next_unit_ns <= now && d.next_unit_ns < stop_sending) {
        fill(unit, d.stream_id, d.seq++);
        if (auto s = d.client.send_unit(d.stream_id, unit); s) ++d.submitted; else ++d.busy;
        d.next_unit_ns += period;
        due[i] = now;
      }
      if (readable || due[i] <= now) {
        d.client.process(now);
        due[i] = d.client.next_deadline();
      }
      if (d.next_unit_ns < stop_sending) wake = std::min(wake, d.next_unit_ns);
      wake = std::min(wake, due[i]);
      fds[i] = pollfd{d.client.fd(), POLLIN, 0};
    }
    if (now >= next_progress) {
      std::cerr << "fleet: " << (now - t0) / 1'000'000'000 << " s\n";
      next_progress += 5'000'000'000;
    }
    const int64_t after = now_ns();
    const int timeout_ms = wake <= after ? 0 : static_cast<int>(std::min<int64_t>((wake - after + 999'999) / 1'000'000, 100));
    if (poll(fds.data(), fds.size(), timeout_ms) <= 0)
      for (auto& p : fds) p.revents = 0;
  }
}

// The fleet's totals as one JSON object on stdout.
void print_totals(const Options& o, std::vector<Device>& fleet, double cpu, int64_t t0) {
  nlohmann::json out;
  uint64_t submitted = 0, busy = 0, sent = 0, resent = 0, bytes = 0, nacks = 0, unanswerable = 0, send_errors = 0,
           blocked = 0;
  for (Device& d : fleet) {
    aigw_stream_stats st{};
    d.client.stats(d.stream_id, st);
    aigw_edge_counters c{};
    d.client.counters(c);
    submitted += d.submitted;
    busy += d.busy;
    sent += st.fragments_sent;
    resent += st.fragments_resent;
    bytes += st.bytes_sent;
    nacks += st.nacks_received;
    unanswerable += st.nacks_unanswerable;
    send_errors += c.fragment_send_errors;
    blocked += c.send_blocked;
  }
  out["devices"] = o.devices;
  out["unit_bytes"] = o.unit_bytes;
  out["units_submitted"] = submitted;
  out["units_refused_busy"] = busy;
  out["fragments_sent"] = sent;
  out["fragments_resent"] = resent;
  out["bytes_sent"] = bytes;
  out["nacks_received"] = nacks;
  out["nacks_unanswerable"] = unanswerable;
  out["fragment_send_errors"] = send_errors;
  out["send_blocked"] = blocked;
  out["cpu_seconds"] = cpu;
  out["wall_seconds"] = double(now_ns() - t0) / 1e9;
  std::cout << out.dump() << '\n';
}

int run_devices(const Options& o) {
  uint8_t key[32];
  if (!parse_key(o.key_hex, key)) {
    std::cerr << "--key needs 64 hex digits\n";
    return 64;
  }
  std::vector<Device> fleet(o.devices);
  for (uint32_t i = 0; i < o.devices; ++i)
    if (const int rc = open_device(o, key, i, fleet[i]); rc != 0) return rc;
  std::cerr << "fleet: " << o.devices << " streams admitted\n";

  const double cpu0 = cpu_seconds();
  const int64_t t0 = now_ns();
  send_units(o, fleet, t0);
  print_totals(o, fleet, cpu_seconds() - cpu0, t0);
  for (Device& d : fleet) d.client.close_stream(d.stream_id);
  return 0;
}

// The same byte rate as raw datagrams: per stream, one unit's bytes per period, sent as
// datagram_bytes-sized datagrams spread evenly over half the period (what the SDK's
// default pacing does: twice the average rate).
int run_udp_source(const Options& o) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    std::perror("socket");
    return 69;
  }
  int sndbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  std::vector<sockaddr_in> to(o.devices);
  for (uint32_t i = 0; i < o.devices; ++i) {
    to[i] = sockaddr_in{};
    to[i].sin_family = AF_INET;
    to[i].sin_port = htons(static_cast<uint16_t>(o.first_udp_port + i));
    if (inet_pton(AF_INET, o.udp_target.c_str(), &to[i].sin_addr) != 1) {
      std::cerr << "--udp-target must be an IPv4 address\n";
      return 64;
    }
  }
  const uint32_t per_unit = (o.unit_bytes + o.datagram_bytes - 1) / o.datagram_bytes;
  const int64_t period = int64_t{o.period_ms} * 1'000'000;
  const int64_t gap = period / 2 / per_unit;
  std::vector<int64_t> next(o.devices);
  std::vector<uint32_t> left(o.devices, 0);
  std::vector<uint8_t> buf(o.datagram_bytes, 0x5a);
  const int64_t t0 = now_ns();
  const int64_t stop = t0 + static_cast<int64_t>(o.seconds * 1e9);
  std::vector<int64_t> unit_start(o.devices);
  for (uint32_t i = 0; i < o.devices; ++i) unit_start[i] = next[i] = t0 + period * i / o.devices;
  uint64_t datagrams = 0, errors = 0;
  while (true) {
    const int64_t now = now_ns();
    if (now >= stop) break;
    int64_t wake = stop;
    for (uint32_t i = 0; i < o.devices; ++i) {
      if (left[i] == 0 && unit_start[i] <= now) {
        left[i] = per_unit;
        next[i] = unit_start[i];
        unit_start[i] += period;
      }
      while (left[i] > 0 && next[i] <= now) {
        if (sendto(fd, buf.data(), buf.size(), 0, reinterpret_cast<const sockaddr*>(&to[i]), sizeof to[i]) < 0)
          ++errors;
        else
          ++datagrams;
        --left[i];
        next[i] += gap;
      }
      wake = std::min(wake, left[i] > 0 ? next[i] : unit_start[i]);
    }
    const int64_t after = now_ns();
    if (wake > after) {
      timespec ts{static_cast<time_t>((wake - after) / 1'000'000'000), static_cast<long>((wake - after) % 1'000'000'000)};
      nanosleep(&ts, nullptr);
    }
  }
  nlohmann::json out;
  out["datagrams"] = datagrams;
  out["send_errors"] = errors;
  out["bytes"] = datagrams * o.datagram_bytes;
  std::cout << out.dump() << '\n';
  close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool udp_source = false;
  CLI::App app{"aigw-device-fleet: N edge SDK devices in one thread (bench/e2e)"};
  app.add_option("--controller", o.controller, "controller bypass address host:port");
  app.add_option("--key", o.key_hex, "the cluster's master key, 64 hex digits (each device's is derived)");
  app.add_option("--key-id", o.key_id, "id of the key in the cluster's key ring");
  app.add_option("--devices", o.devices, "devices (one stream each)")->check(CLI::Range(1u, 4096u));
  app.add_option("--first-device-id", o.first_device_id, "device id of the first device")->check(CLI::Range(1u, 0xFFFFFFu));
  app.add_option("--unit-bytes", o.unit_bytes, "bytes per unit")->check(CLI::Range(1u, 16u << 20));
  app.add_option("--period-ms", o.period_ms, "one unit per period")->check(CLI::Range(1u, 60000u));
  app.add_option("--seconds", o.seconds, "how long units are sent")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--drain-seconds", o.drain_seconds, "how long NACKs are still answered afterwards")
      ->check(CLI::Range(0.0, 60.0));
  std::string data_path = "auto";
  app.add_option("--data-path", data_path, "auto (UDP GSO when the kernel has it) or plain")
      ->check(CLI::IsMember({"auto", "plain"}));
  app.add_flag("--udp-source", udp_source, "send raw datagrams at the same rate instead (peer-tool baseline)");
  app.add_option("--udp-target", o.udp_target, "--udp-source: IPv4 address");
  app.add_option("--first-udp-port", o.first_udp_port, "--udp-source: port of stream 0; stream i gets +i");
  app.add_option("--datagram-bytes", o.datagram_bytes, "--udp-source: datagram size")->check(CLI::Range(16u, 65000u));
  CLI11_PARSE(app, argc, argv);
  o.plain_path = data_path == "plain";
  if (udp_source) {
    if (o.first_udp_port == 0) {
      std::cerr << "--udp-source needs --first-udp-port\n";
      return 64;
    }
    return run_udp_source(o);
  }
  if (o.key_hex.empty()) {
    std::cerr << "--key is required\n";
    return 64;
  }
  return run_devices(o);
}
