// NACK payload codec: which fragments of a unit are missing, in the smallest of three
// encodings (docs/protocol.md §3.2). Carried in ctl::RetransmitRequest's `missing` bytes.
//
//   list    2 bytes per missing fragment number, big-endian, ascending (the paper's form)
//   ranges  4 bytes per run: first (u16), run length (u16), ascending, non-adjacent
//   bitmap  one bit per fragment of a window [first_fragment, first_fragment + 8*n),
//           MSB of byte 0 first; bits past the unit's last fragment are zero
//
// A 945-fragment unit needs at most 119 bitmap bytes, so one datagram always suffices;
// a unit of up to 65535 fragments may need several, each chunk a window of its own.
#pragma once

#include <cstddef>
#include <cstdint>

namespace aigw {

enum class NackEncoding : uint8_t { list = 0, ranges = 1, bitmap = 2 };

/// One encoded NACK chunk, pointing into the encoder's buffer.
struct NackChunk {
  NackEncoding encoding = NackEncoding::list;
  uint16_t first_fragment = 0;  ///< window start (bitmap); 0 for list and ranges
  uint16_t missing_count = 0;   ///< fragments this chunk names (Rtr_Pkt_N)
  const uint8_t* bytes = nullptr;
  size_t size = 0;
};

/// Encodes sorted, distinct missing fragment numbers into chunks of at most
/// `max_bytes` each, calling `emit(chunk)` per chunk. Each chunk picks its smallest
/// encoding. No allocation: `scratch` must hold `max_bytes` (>= 8) bytes and is reused
/// between chunks. Returns the number of chunks.
template <typename Emit>
size_t encode_nack(const uint16_t* missing, size_t n, uint16_t fragment_count, uint8_t* scratch,
                   size_t max_bytes, Emit&& emit);

enum class NackError : uint8_t {
  ok = 0,
  bad_encoding,
  bad_size,          ///< size not a multiple of the element size, or empty
  out_of_range,      ///< a fragment number >= fragment count
  not_ascending,     ///< list/ranges not strictly ascending or runs overlap/touch
  count_mismatch,    ///< missing_count differs from what the bytes name
  too_many,          ///< names more fragments than the caller's output holds
  bad_window,        ///< fragment count 0 or > 65535, or a window start that cannot be
                     ///< (>= fragment count for a bitmap, non-zero for list and ranges)
  empty_run,         ///< a range of length 0
};

const char* to_string(NackError e);

/// Decodes one chunk into `out` (capacity `cap`), setting `n`. Total on any input: every
/// byte string yields ok (the named fragments, ascending) or one specific error. On an
/// error `n` holds what was written before it was found.
NackError decode_nack(NackEncoding encoding, uint32_t first_fragment, uint32_t missing_count,
                      uint32_t fragment_count, const uint8_t* bytes, size_t size, uint16_t* out,
                      size_t cap, size_t& n);

/// Size in bytes of each encoding for a sorted missing set (used by the chooser).
size_t nack_list_size(size_t n);
size_t nack_ranges_size(const uint16_t* missing, size_t n);
size_t nack_bitmap_size(const uint16_t* missing, size_t n);

/// Lists the fragments in [from, to) whose bit is clear in `received` (bit i of word
/// i/64 set = fragment i held), ascending, into `out`; returns how many. This is how a
/// receiver turns its bitmap into the sorted set encode_nack() takes.
size_t missing_fragments(const uint64_t* received, uint32_t from, uint32_t to, uint16_t* out);

/// Encodes the prefix of `missing` that fits `max_bytes` in its smallest encoding,
/// returning how many entries it consumed (>= 1 when max_bytes >= 8).
size_t encode_nack_chunk(const uint16_t* missing, size_t n, uint8_t* out, size_t max_bytes,
                         NackChunk& chunk);

template <typename Emit>
size_t encode_nack(const uint16_t* missing, size_t n, uint16_t /*fragment_count*/, uint8_t* scratch,
                   size_t max_bytes, Emit&& emit) {
  size_t chunks = 0;
  while (n > 0) {
    NackChunk c;
    size_t used = encode_nack_chunk(missing, n, scratch, max_bytes, c);
    if (used == 0) break;
    emit(static_cast<const NackChunk&>(c));
    missing += used;
    n -= used;
    ++chunks;
  }
  return chunks;
}

}  // namespace aigw
