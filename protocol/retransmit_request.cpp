#include "protocol/retransmit_request.h"

namespace aigw {

void to_retransmit_request(const NackOut& nack, ctl::RetransmitRequest& out) {
  out.set_stream_id(nack.stream_id);
  out.set_unit_seq(nack.unit_seq);
  out.set_fragment_count(nack.fragment_count);
  out.set_encoding(static_cast<ctl::NackEncoding>(nack.chunk.encoding));
  out.set_first_fragment(nack.chunk.first_fragment);
  out.set_missing_count(nack.chunk.missing_count);
  out.set_missing(nack.chunk.bytes, nack.chunk.size);
  out.set_round(nack.round);
}

}  // namespace aigw
