// Helpers for the C ABI's versioned structs: every struct starts with a uint32_t size
// that the caller sets to sizeof() of the struct as its header declared it. Fields are
// only ever appended, so a struct at least as large as the version this library knows
// holds every field the library reads; a smaller one comes from no known version.
#pragma once

#include <cstdint>

namespace aigw::edge {

/// True when `p` is non-null and declares at least this library's size of T.
template <typename T>
bool struct_ok(const T* p) {
  return p != nullptr && p->size >= sizeof(T);
}

}  // namespace aigw::edge
