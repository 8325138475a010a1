// CRC32C (Castagnoli), the checksum of the data header and of whole units.
#pragma once

#include <cstddef>
#include <cstdint>

namespace aigw {

/// Extends `crc` (0 to start) over `len` bytes. Uses the CPU's CRC32 instruction
/// when it has one (x86 SSE4.2, ARMv8 CRC), a slicing-by-8 table otherwise.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t len);

inline uint32_t crc32c(const void* data, size_t len) { return crc32c_extend(0, data, len); }

/// Same result as crc32c_extend, always through the portable table (tests compare both).
uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t len);

/// True when crc32c_extend runs on the hardware instruction.
bool crc32c_hardware_accelerated();

}  // namespace aigw
