// Included once by each fuzz target whose code logs: protobuf reports every malformed
// UTF-8 string it refuses, and the gateway and controller warn about what they drop.
// At a million inputs that stderr traffic, not the code under test, is what the fuzzer
// would spend its time on. Refusals stay visible to the targets as return values and
// counters.
#pragma once

#include <google/protobuf/stubs/logging.h>

#include <string>

#include "protocol/log.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  aigw::log::set_level(aigw::log::Level::off);
  return 0;
}
