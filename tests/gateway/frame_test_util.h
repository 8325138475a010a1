// Builds well-formed Ethernet/IPv4/UDP frames for parser and backend tests.
#pragma once

#include <cstdint>
#include <vector>

#include "gateway/net/frame_builder.h"

namespace aigw::test {

inline net::UdpFlow test_flow() {
  net::UdpFlow f;
  f.src_mac = {0x02, 0, 0, 0, 0, 0x01};
  f.dst_mac = {0x02, 0, 0, 0, 0, 0x02};
  f.src_ip = 0x0a000001;  // 10.0.0.1
  f.dst_ip = 0x0a000002;
  f.src_port = 40000;
  f.dst_port = 9000;
  return f;
}

/// A UDP frame carrying `payload`, with correct IPv4 and UDP checksums.
inline std::vector<uint8_t> udp_frame(const net::UdpFlow& flow, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> f(net::kUdpFrameOverhead + payload.size());
  net::write_udp_headers(flow, 1, payload.size(), f.data());
  std::copy(payload.begin(), payload.end(), f.begin() + net::kUdpFrameOverhead);
  net::finish_udp_checksum(f.data());
  return f;
}

}  // namespace aigw::test
