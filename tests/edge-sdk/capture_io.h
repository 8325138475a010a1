// A CoreIo for tests: keeps every control datagram and fragment instead of sending it,
// so engine-level tests can inspect, drop or replay them under a fake clock.
#pragma once

#include <cstdint>
#include <vector>

#include "edge-sdk/src/core_io.h"
#include "protocol/data_header.h"

namespace aigw::edge::test {

struct Datagram {
  UdpEndpoint to;
  std::vector<uint8_t> bytes;
};

class CaptureIo final : public CoreIo {
 public:
  void send_control(const UdpEndpoint& to, const uint8_t* data, size_t len) override {
    control.push_back({to, std::vector<uint8_t>(data, data + len)});
  }
  bool send_fragment(const UdpEndpoint& to, const uint8_t* header, size_t header_len,
                     const uint8_t* payload, size_t payload_len) override {
    if (refuse) {
      ++refused;
      return false;
    }
    Datagram d{to, std::vector<uint8_t>(header, header + header_len)};
    d.bytes.insert(d.bytes.end(), payload, payload + payload_len);
    fragments.push_back(std::move(d));
    return true;
  }
  void flush() override { ++flushes; }

  /// Decodes fragment i's header (asserting it is valid is the caller's business).
  DecodeError header(size_t i, DataHeader& h) const {
    return decode_data_header(fragments[i].bytes.data(), fragments[i].bytes.size(), h);
  }

  std::vector<Datagram> control;
  std::vector<Datagram> fragments;
  bool refuse = false;  ///< simulate a full socket buffer
  size_t refused = 0;
  size_t flushes = 0;
};

}  // namespace aigw::edge::test
