// One page of the stream listing (GET /api/v1/streams, `aigwctl streams`): at 100,000
// streams the whole table is hundreds of milliseconds of rendering on the event loop,
// so listings are paged by stream id and a page costs what its streams cost.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace aigw::controller {

constexpr uint32_t kDefaultStreamPageLimit = 1000;
constexpr uint32_t kMaxStreamPageLimit = 10000;

/// Which streams a page holds: up to `limit` streams with an id greater than `after`,
/// in ascending id order, only those homed on `gateway` when it is set.
struct StreamPageQuery {
  uint32_t limit = kDefaultStreamPageLimit;
  uint32_t after = 0;
  std::optional<uint32_t> gateway;
};

/// Textual parameters as an HTTP query carries them ("limit", "after", "gateway"; all
/// optional, decimal). False with a reason on an unknown name or a bad value, so a
/// typo is an error rather than a silently different listing.
bool parse_stream_page(const std::map<std::string, std::string>& params, StreamPageQuery& out, std::string& error);

/// False with a reason when `limit` is outside 1..kMaxStreamPageLimit.
bool check_stream_page_limit(int64_t limit, std::string& error);

/// The ids of the streams homed on each gateway, in id order: a page filtered by
/// gateway reads only that gateway's streams instead of scanning the whole table.
/// The owner calls add()/remove() on every change of a stream's home.
class StreamsByGateway {
 public:
  void add(uint32_t gateway_id, uint32_t stream_id) { by_gateway_[gateway_id].insert(stream_id); }
  void remove(uint32_t gateway_id, uint32_t stream_id) {
    auto it = by_gateway_.find(gateway_id);
    if (it == by_gateway_.end()) return;
    it->second.erase(stream_id);
    if (it->second.empty()) by_gateway_.erase(it);
  }
  /// The gateway's stream ids (empty when it has none).
  const std::set<uint32_t>& on(uint32_t gateway_id) const {
    static const std::set<uint32_t> kNone;
    auto it = by_gateway_.find(gateway_id);
    return it == by_gateway_.end() ? kNone : it->second;
  }

 private:
  std::map<uint32_t, std::set<uint32_t>> by_gateway_;
};

}  // namespace aigw::controller
