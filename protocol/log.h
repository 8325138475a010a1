// Structured logging on fmt: one logfmt line per event with fixed leading keys
//   ts=<RFC 3339 UTC> level=<level> comp=<component> event=<name> <key=value ...>
// so that every binary's logs can be filtered by the same keys.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string_view>

namespace aigw::log {

enum class Level : int { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

/// Parses "debug", "info", "warn", "error", "off"; false on anything else.
bool parse_level(std::string_view text, Level& out);
const char* to_string(Level l);

void set_level(Level l);
Level level();
/// The `comp=` value of every line, e.g. "gateway". Set once at start-up.
void set_component(std::string_view name);
/// Destination of log lines (default stderr).
void set_sink(std::FILE* f);

void write_line(Level l, std::string_view event, std::string_view fields);

inline bool enabled(Level l) { return static_cast<int>(l) >= static_cast<int>(level()); }

template <typename... Args>
void emit(Level l, std::string_view event, fmt::format_string<Args...> fields, Args&&... args) {
  if (!enabled(l)) return;
  fmt::memory_buffer buf;
  fmt::format_to(std::back_inserter(buf), fields, std::forward<Args>(args)...);
  write_line(l, event, std::string_view(buf.data(), buf.size()));
}

template <typename... Args>
void debug(std::string_view event, fmt::format_string<Args...> f, Args&&... a) {
  emit(Level::debug, event, f, std::forward<Args>(a)...);
}
template <typename... Args>
void info(std::string_view event, fmt::format_string<Args...> f, Args&&... a) {
  emit(Level::info, event, f, std::forward<Args>(a)...);
}
template <typename... Args>
void warn(std::string_view event, fmt::format_string<Args...> f, Args&&... a) {
  emit(Level::warn, event, f, std::forward<Args>(a)...);
}
template <typename... Args>
void error(std::string_view event, fmt::format_string<Args...> f, Args&&... a) {
  emit(Level::error, event, f, std::forward<Args>(a)...);
}

/// Lets at most one event through per interval and counts what it held back, so a
/// flood of bad packets costs one line per interval, not one per packet.
class RateLimit {
 public:
  explicit RateLimit(std::chrono::milliseconds interval) : interval_ns_(interval.count() * 1000000) {}
  /// True when a line may be written now; `suppressed` gets the count held back since.
  bool allow(int64_t now_ns, uint64_t& suppressed);

 private:
  int64_t interval_ns_;
  std::atomic<int64_t> next_ns_{0};
  std::atomic<uint64_t> held_{0};
};

int64_t steady_now_ns();

}  // namespace aigw::log

/// Rate-limited warning: at most one line per `interval_ms` from this call site, with a
/// `suppressed=` count of what was held back.
#define AIGW_WARN_RATE_LIMITED(interval_ms, event, fields, ...)                          \
  do {                                                                                   \
    static ::aigw::log::RateLimit aigw_rl_{std::chrono::milliseconds(interval_ms)};      \
    uint64_t aigw_suppressed_ = 0;                                                       \
    if (::aigw::log::enabled(::aigw::log::Level::warn) &&                                \
        aigw_rl_.allow(::aigw::log::steady_now_ns(), aigw_suppressed_))                  \
      ::aigw::log::warn(event, fields " suppressed={}", ##__VA_ARGS__, aigw_suppressed_); \
  } while (0)
