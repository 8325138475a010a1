#include "edge-sdk/src/stats_json.h"

#include <fmt/format.h>

namespace aigw::edge {

namespace {

// The only string field is a numeric IP address; escaping keeps the object valid even
// if that ever changes.
std::string json_string(const char* s) {
  std::string out = "\"";
  for (; *s != '\0'; ++s) {
    const unsigned char c = static_cast<unsigned char>(*s);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

std::string stats_to_json(const aigw_stream_stats& s) {
  return fmt::format(
      "{{\"stream_id\":{},\"units_sent\":{},\"fragments_sent\":{},\"fragments_resent\":{},"
      "\"bytes_sent\":{},\"nacks_received\":{},\"nacks_unanswerable\":{},\"units_expired\":{},"
      "\"units_evicted\":{},\"migrations\":{},\"next_unit_seq\":{},"
      "\"gateway\":{{\"id\":{},\"address\":{},\"port\":{}}}}}",
      s.stream_id, s.units_sent, s.fragments_sent, s.fragments_resent, s.bytes_sent,
      s.nacks_received, s.nacks_unanswerable, s.units_expired, s.units_evicted, s.migrations,
      s.next_unit_seq, s.gateway_id, json_string(s.gateway_address), s.gateway_port);
}

}  // namespace aigw::edge
