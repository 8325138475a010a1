// The envelope opener and every control message parser must take any bytes.
#include <cstdint>
#include <cstdlib>

#include "protocol/control.pb.h"
#include "protocol/envelope.h"
#include "tests/fuzz/quiet_logs.h"

namespace {

aigw::KeyRing& keys() {
  static aigw::KeyRing ring = [] {
    aigw::KeyRing r;
    aigw::ControlKey k{};
    k.fill(0x42);
    r.add(1, k);
    return r;
  }();
  return ring;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  aigw::EnvelopeView v;
  if (aigw::peek_envelope(data, size, v) == aigw::EnvelopeError::ok) {
    // Parse the body as the type it claims, as a receiver would after the MAC check.
    aigw::ctl::LoadSync a;
    aigw::ctl::StreamSync b;
    aigw::ctl::RetransmitRequest c;
    aigw::ctl::AdmissionRequest d;
    aigw::ctl::MigrateCommand e;
    (void)a.ParseFromArray(v.body, static_cast<int>(v.body_len));
    (void)b.ParseFromArray(v.body, static_cast<int>(v.body_len));
    (void)c.ParseFromArray(v.body, static_cast<int>(v.body_len));
    (void)d.ParseFromArray(v.body, static_cast<int>(v.body_len));
    (void)e.ParseFromArray(v.body, static_cast<int>(v.body_len));
  }
  static const aigw::RingKeys ring_keys(keys());
  aigw::EnvelopeOpener opener(ring_keys);
  (void)opener.open(data, size, v);
  return 0;
}
