#include "protocol/nack.h"

#include <algorithm>

#include "protocol/byte_order.h"

namespace aigw {

using namespace wire;

const char* to_string(NackError e) {
  switch (e) {
    case NackError::ok: return "ok";
    case NackError::bad_encoding: return "bad_encoding";
    case NackError::bad_size: return "bad_size";
    case NackError::out_of_range: return "out_of_range";
    case NackError::not_ascending: return "not_ascending";
    case NackError::count_mismatch: return "count_mismatch";
    case NackError::too_many: return "too_many";
    case NackError::bad_window: return "bad_window";
    case NackError::empty_run: return "empty_run";
  }
  return "unknown";
}

size_t nack_list_size(size_t n) { return 2 * n; }

size_t nack_ranges_size(const uint16_t* missing, size_t n) {
  size_t runs = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i == 0 || missing[i] != missing[i - 1] + 1) ++runs;
  }
  return 4 * runs;
}

size_t nack_bitmap_size(const uint16_t* missing, size_t n) {
  if (n == 0) return 0;
  return (size_t{missing[n - 1]} - missing[0]) / 8 + 1;
}

size_t missing_fragments(const uint64_t* received, uint32_t from, uint32_t to, uint16_t* out) {
  size_t n = 0;
  for (uint32_t w = from / 64; w * 64 < to; ++w) {
    const uint32_t base = w * 64;
    uint64_t gaps = ~received[w];
    if (from > base) gaps &= ~uint64_t{0} << (from - base);
    if (to - base < 64) gaps &= (uint64_t{1} << (to - base)) - 1;
    while (gaps) {
      out[n++] = static_cast<uint16_t>(base + static_cast<uint32_t>(__builtin_ctzll(gaps)));
      gaps &= gaps - 1;
    }
  }
  return n;
}

namespace {

// How many leading entries each encoding can carry in `max_bytes`.
size_t list_prefix(size_t n, size_t max_bytes) { return std::min(n, max_bytes / 2); }

// How many leading entries fit `max_bytes` of runs, and how many runs those are.
size_t ranges_prefix(const uint16_t* missing, size_t n, size_t max_bytes, size_t& runs) {
  const size_t max_runs = max_bytes / 4;
  runs = 0;
  size_t i = 0;
  while (i < n) {
    if (runs == max_runs) break;
    ++runs;
    size_t j = i + 1;
    while (j < n && missing[j] == missing[j - 1] + 1) ++j;
    i = j;
  }
  return i;
}

size_t bitmap_prefix(const uint16_t* missing, size_t n, size_t max_bytes) {
  if (max_bytes == 0 || n == 0) return 0;
  const uint64_t end = uint64_t{missing[0]} + 8 * uint64_t{max_bytes};  // first bit not covered
  return static_cast<size_t>(std::lower_bound(missing, missing + n, end,
                                              [](uint16_t v, uint64_t e) { return v < e; }) -
                             missing);
}

size_t write_list(const uint16_t* missing, size_t n, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) put_u16(out + 2 * i, missing[i]);
  return 2 * n;
}

size_t write_ranges(const uint16_t* missing, size_t n, uint8_t* out) {
  size_t bytes = 0;
  size_t i = 0;
  while (i < n) {
    size_t j = i + 1;
    while (j < n && missing[j] == missing[j - 1] + 1) ++j;
    put_u16(out + bytes, missing[i]);
    put_u16(out + bytes + 2, static_cast<uint16_t>(j - i));
    bytes += 4;
    i = j;
  }
  return bytes;
}

size_t write_bitmap(const uint16_t* missing, size_t n, uint8_t* out) {
  const size_t bytes = nack_bitmap_size(missing, n);
  std::fill(out, out + bytes, uint8_t{0});
  const uint32_t first = missing[0];
  for (size_t i = 0; i < n; ++i) {
    const uint32_t bit = missing[i] - first;
    out[bit >> 3] |= static_cast<uint8_t>(0x80u >> (bit & 7));
  }
  return bytes;
}

}  // namespace

size_t encode_nack_chunk(const uint16_t* missing, size_t n, uint8_t* out, size_t max_bytes,
                         NackChunk& chunk) {
  if (n == 0) return 0;
  // Take the longest prefix any encoding can carry, then the smallest encoding of it
  // (which fits, being no larger than the one that set the prefix).
  size_t runs = 0;
  const size_t by_ranges = ranges_prefix(missing, n, max_bytes, runs);
  const size_t take = std::max({list_prefix(n, max_bytes), by_ranges,
                                bitmap_prefix(missing, n, max_bytes)});
  if (take == 0) return 0;
  const size_t list = nack_list_size(take);
  // The runs counted above cover exactly `take` entries unless another form took more.
  const size_t ranges = take == by_ranges ? 4 * runs : nack_ranges_size(missing, take);
  const size_t bitmap = nack_bitmap_size(missing, take);
  chunk.missing_count = static_cast<uint16_t>(take);
  chunk.bytes = out;
  // Ties go to the list, the paper's form, then to ranges.
  if (list <= ranges && list <= bitmap) {
    chunk.encoding = NackEncoding::list;
    chunk.first_fragment = 0;
    chunk.size = write_list(missing, take, out);
  } else if (ranges <= bitmap) {
    chunk.encoding = NackEncoding::ranges;
    chunk.first_fragment = 0;
    chunk.size = write_ranges(missing, take, out);
  } else {
    chunk.encoding = NackEncoding::bitmap;
    chunk.first_fragment = missing[0];
    chunk.size = write_bitmap(missing, take, out);
  }
  return take;
}

namespace {

// Appends one decoded fragment number, keeping decoding going past `cap` so that a
// structural error later in the chunk still wins over too_many.
inline void put_out(uint16_t v, uint16_t* out, size_t cap, size_t& n, size_t& named) {
  if (n < cap) out[n++] = v;
  ++named;
}

NackError decode_list(uint32_t count, const uint8_t* bytes, size_t size, uint16_t* out,
                      size_t cap, size_t& n, size_t& named) {
  if (size == 0 || size % 2 != 0) return NackError::bad_size;
  int64_t prev = -1;
  for (size_t off = 0; off < size; off += 2) {
    const uint16_t v = get_u16(bytes + off);
    if (v >= count) return NackError::out_of_range;
    if (v <= prev) return NackError::not_ascending;
    prev = v;
    put_out(v, out, cap, n, named);
  }
  return NackError::ok;
}

NackError decode_ranges(uint32_t count, const uint8_t* bytes, size_t size, uint16_t* out,
                        size_t cap, size_t& n, size_t& named) {
  if (size == 0 || size % 4 != 0) return NackError::bad_size;
  int64_t next_allowed = 0;  // a run must start past the previous run's end plus a gap
  for (size_t off = 0; off < size; off += 4) {
    const uint32_t first = get_u16(bytes + off);
    const uint32_t len = get_u16(bytes + off + 2);
    if (len == 0) return NackError::empty_run;
    if (first + len > count) return NackError::out_of_range;
    if (first < next_allowed) return NackError::not_ascending;
    next_allowed = int64_t{first} + len + 1;
    for (uint32_t v = first; v < first + len; ++v) put_out(static_cast<uint16_t>(v), out, cap, n, named);
  }
  return NackError::ok;
}

NackError decode_bitmap(uint32_t first, uint32_t count, const uint8_t* bytes, size_t size,
                        uint16_t* out, size_t cap, size_t& n, size_t& named) {
  if (first >= count) return NackError::bad_window;
  // No byte may lie wholly past the unit's last fragment.
  if (size == 0 || size > (count - first + 7) / 8) return NackError::bad_size;
  for (size_t i = 0; i < size; ++i) {
    const uint8_t b = bytes[i];
    if (b == 0) continue;
    for (uint32_t bit = 0; bit < 8; ++bit) {
      if ((b & (0x80u >> bit)) == 0) continue;
      const uint32_t v = first + static_cast<uint32_t>(i) * 8 + bit;
      if (v >= count) return NackError::out_of_range;
      put_out(static_cast<uint16_t>(v), out, cap, n, named);
    }
  }
  if (named == 0) return NackError::bad_size;  // names nothing: an empty NACK
  return NackError::ok;
}

}  // namespace

NackError decode_nack(NackEncoding encoding, uint32_t first_fragment, uint32_t missing_count,
                      uint32_t fragment_count, const uint8_t* bytes, size_t size, uint16_t* out,
                      size_t cap, size_t& n) {
  n = 0;
  size_t named = 0;
  if (fragment_count == 0 || fragment_count > 65535) return NackError::bad_window;
  NackError e;
  switch (encoding) {
    case NackEncoding::list:
      if (first_fragment != 0) return NackError::bad_window;
      e = decode_list(fragment_count, bytes, size, out, cap, n, named);
      break;
    case NackEncoding::ranges:
      if (first_fragment != 0) return NackError::bad_window;
      e = decode_ranges(fragment_count, bytes, size, out, cap, n, named);
      break;
    case NackEncoding::bitmap:
      e = decode_bitmap(first_fragment, fragment_count, bytes, size, out, cap, n, named);
      break;
    default:
      return NackError::bad_encoding;
  }
  if (e != NackError::ok) return e;
  if (named != missing_count) return NackError::count_mismatch;
  if (named > cap) return NackError::too_many;
  return NackError::ok;
}

}  // namespace aigw
