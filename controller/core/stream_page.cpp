#include "controller/core/stream_page.h"

#include <charconv>

namespace aigw::controller {

namespace {

// A whole decimal number in 0..UINT32_MAX: no sign, no spaces, no trailing text.
bool parse_u32(const std::string& text, uint32_t& out) {
  if (text.empty() || text[0] < '0' || text[0] > '9') return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

bool check_stream_page_limit(int64_t limit, std::string& error) {
  if (limit >= 1 && limit <= kMaxStreamPageLimit) return true;
  error = "limit must be 1.." + std::to_string(kMaxStreamPageLimit);
  return false;
}

bool parse_stream_page(const std::map<std::string, std::string>& params, StreamPageQuery& out, std::string& error) {
  StreamPageQuery q;
  for (const auto& [name, value] : params) {
    uint32_t v = 0;
    if (name != "limit" && name != "after" && name != "gateway") {
      error = "unknown parameter " + name + " (accepted: limit, after, gateway)";
      return false;
    }
    if (!parse_u32(value, v)) {
      error = name + " must be a decimal number in 0.." + std::to_string(UINT32_MAX) + ", not \"" + value + "\"";
      return false;
    }
    if (name == "limit") {
      if (!check_stream_page_limit(v, error)) return false;
      q.limit = v;
    } else if (name == "after") {
      q.after = v;
    } else {
      q.gateway = v;
    }
  }
  out = q;
  return true;
}

}  // namespace aigw::controller
