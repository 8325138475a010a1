// The one control key of the tests: a node key where a test plays one node, the
// master where it runs a controller (nodes then hold keys derived from it).
#pragma once

#include "protocol/envelope.h"

namespace aigw::test {

inline constexpr const char* kTestKeyHex = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";

inline ControlKey test_key() {
  ControlKey k{};
  KeyRing::parse_hex(kTestKeyHex, k);
  return k;
}

}  // namespace aigw::test
