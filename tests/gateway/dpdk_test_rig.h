// What the DPDK backend tests share (each runs its own EAL process, so they cannot share
// a fixture): pcap files written and read back, a unit cut into fragments as a device
// sends it, a veth pair whose peer lives in a network namespace the test creates and
// removes, and bounded polling.
#pragma once

#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "protocol/unit_sender.h"
#include "tests/common/veth_namespace.h"
#include "tests/gateway/test_units.h"

namespace aigw::test {

/// Writes Ethernet frames to a pcap file (a net_pcap rx_pcap).
class PcapWriter {
 public:
  explicit PcapWriter(const std::string& path)
      : dead_(pcap_open_dead(DLT_EN10MB, 65535)), dump_(pcap_dump_open(dead_, path.c_str())) {}
  ~PcapWriter() {
    pcap_dump_close(dump_);
    pcap_close(dead_);
  }
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;
  void add(const std::vector<uint8_t>& f) {
    pcap_pkthdr h{};
    h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
    pcap_dump(reinterpret_cast<u_char*>(dump_), &h, f.data());
    ++count;
  }
  size_t count = 0;

 private:
  pcap_t* dead_;
  pcap_dumper_t* dump_;
};

/// Writes `frames` to a new pcap file at `path`.
inline void write_capture(const std::string& path, const std::vector<std::vector<uint8_t>>& frames) {
  PcapWriter w(path);
  for (const auto& f : frames) w.add(f);
}

/// The frames of a pcap file (a net_pcap tx_pcap), or none when it cannot be read.
inline std::vector<std::vector<uint8_t>> read_capture(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE];
  std::vector<std::vector<uint8_t>> out;
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  if (p == nullptr) return out;
  pcap_pkthdr* h;
  const u_char* d;
  while (pcap_next_ex(p, &h, &d) == 1) out.emplace_back(d, d + h->caplen);
  pcap_close(p);
  return out;
}

/// The datagrams (data header + payload) of unit `seq` of `stream`, `content` bytes.
inline std::vector<std::vector<uint8_t>> unit_fragments(uint32_t stream, uint32_t seq, size_t content) {
  Capture cap;
  UnitSender s(SenderConfig{}, cap);
  s.add_stream(stream);
  auto u = unit_bytes(stream, seq, content);
  s.submit(stream, seq, u.data(), static_cast<uint32_t>(u.size()), 0, 0);
  s.poll(0, 100000);
  return cap.packets;
}

/// Polls `cond` every 5 ms for at most `limit`; its last value.
template <typename F>
bool wait_for(F&& cond, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

/// Runs one `Suite` (EAL, ports, gateway node) for all of a test program's cases: the
/// EAL starts once per process. `Suite` has start(), stop(), `node` (with `ok`),
/// `veth` (a VethInNamespace) and `dir` (removed at the end).
template <class Suite>
class DpdkSuiteTest : public ::testing::Test {
 public:
  static inline Suite* suite = nullptr;

 protected:
  static void SetUpTestSuite() {
    suite = new Suite;
    suite->start();
  }
  static void TearDownTestSuite() {
    suite->stop();
    suite->node.reset();
    suite->veth.remove();
    std::filesystem::remove_all(suite->dir);
    delete suite;
    suite = nullptr;
  }
  void SetUp() override {
    // As root every case counts on the veth pair; without it they would pass on less.
    if (geteuid() == 0) {
      ASSERT_TRUE(suite->veth.up) << suite->veth.error;
    }
    ASSERT_TRUE(suite->node && suite->node->ok) << "EAL or port start failed";
  }
};

}  // namespace aigw::test
