// Test helpers for the transfer engines: units with seeded content and their fragments,
// and a ReceiverEvents recorder that decodes every NACK it is given.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "protocol/data_header.h"
#include "protocol/nack.h"
#include "protocol/unit_digest.h"
#include "protocol/unit_receiver.h"

namespace aigw::test {

/// A unit as a sender would cut it: content plus digest trailer, fixed geometry.
struct TestUnit {
  uint32_t stream_id = 0;
  uint32_t seq = 0;
  std::vector<uint8_t> bytes;
  uint16_t count = 0;
  uint8_t flags = 0;

  UnitGeometry geometry() const { return {static_cast<uint32_t>(bytes.size()), count}; }

  DataHeader header(uint16_t index, uint8_t extra_flags = 0) const {
    DataHeader h;
    h.flags = static_cast<uint8_t>(flags | extra_flags);
    if (index + 1 == count) h.flags |= data_flag::last_fragment;
    h.fragment_index = index;
    h.stream_id = stream_id;
    h.unit_seq = seq;
    h.fragment_count = count;
    h.unit_length = static_cast<uint32_t>(bytes.size());
    h.payload_length = static_cast<uint16_t>(geometry().payload_length(index));
    return h;
  }
  const uint8_t* payload(uint16_t index) const { return bytes.data() + geometry().offset(index); }
};

/// `content_len` seeded bytes plus the CRC32C trailer, cut into `max_payload` fragments.
inline TestUnit make_unit(uint32_t stream_id, uint32_t seq, uint32_t content_len,
                          uint32_t max_payload = 728, uint32_t seed = 1) {
  TestUnit u;
  u.stream_id = stream_id;
  u.seq = seq;
  u.bytes.resize(content_len + kUnitDigestSize);
  std::mt19937 rng(seed ^ (seq * 2654435761u) ^ stream_id);
  for (uint32_t i = 0; i < content_len; ++i) u.bytes[i] = static_cast<uint8_t>(rng());
  append_unit_digest(u.bytes.data(), content_len);
  u.count = UnitGeometry::count_for(static_cast<uint32_t>(u.bytes.size()), max_payload);
  return u;
}

/// Records every receiver event; NACK chunks are decoded and checked on arrival.
class Recorder : public ReceiverEvents {
 public:
  struct Done {
    CompletedUnit info;
    std::vector<uint8_t> bytes;
  };
  struct Nack {
    NackOut out;
    std::vector<uint16_t> fragments;
  };

  void on_unit_complete(const CompletedUnit& info, UnitHandle& unit) override {
    done.push_back({info, std::vector<uint8_t>(unit.data(), unit.data() + unit.size())});
  }
  void on_unit_lost(const LostUnit& info) override { lost.push_back(info); }
  void on_nack(const NackOut& n) override {
    Nack rec{n, std::vector<uint16_t>(65535)};
    size_t count = 0;
    const NackError e =
        decode_nack(n.chunk.encoding, n.chunk.first_fragment, n.chunk.missing_count,
                    n.fragment_count, n.chunk.bytes, n.chunk.size, rec.fragments.data(),
                    rec.fragments.size(), count);
    EXPECT_EQ(e, NackError::ok) << to_string(e);
    rec.fragments.resize(count);
    rec.out.chunk.bytes = nullptr;  // the receiver's buffer is reused
    nacks.push_back(rec);
  }

  std::vector<Done> done;
  std::vector<LostUnit> lost;
  std::vector<Nack> nacks;
};

/// Runs the receiver's timers up to `until`, each at its due time.
inline void run_timers(UnitReceiver& rx, int64_t until) {
  for (int64_t t = rx.next_deadline_ns(); t <= until; t = rx.next_deadline_ns()) rx.poll(t);
}

}  // namespace aigw::test
