// Included once by each fuzz target whose code logs: protobuf reports every malformed
// UTF-8 string it refuses, and the gateway and controller warn about what they drop.
// At a million inputs that stderr traffic, not the code under test, is what the fuzzer
// would spend its time on. Refusals stay visible to the targets as return values and
// counters.
//
// The same targets run protobuf, built without frame pointers: ASan's fast unwinder,
// walking the stack from each malloc and free it makes, reads whatever protobuf keeps in
// rbp as frames, so nearly every call records a new "unique" stack in ASan's stack depot,
// which is never freed. That, not the heap (constant), made fuzz_edge_control's RSS grow
// by ~180 bytes per input, to libFuzzer's 2 GB limit near 10 M inputs. Two frames (the
// allocator and its direct caller) are always real return addresses, so the depot stays
// bounded; a crash's own stack is still complete. For full allocation and free stacks
// when reproducing a report, run the input with
// ASAN_OPTIONS=malloc_context_size=30:fast_unwind_on_malloc=0 (slow, exact unwinder).
#pragma once

#include <google/protobuf/stubs/logging.h>

#include <string>

#include "protocol/log.h"

extern "C" const char* __asan_default_options() { return "malloc_context_size=2"; }

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  aigw::log::set_level(aigw::log::Level::off);
  return 0;
}
