#include "protocol/log.h"

#include <ctime>
#include <mutex>
#include <string>

namespace aigw::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
std::atomic<std::FILE*> g_sink{nullptr};
std::mutex g_component_mutex;
std::string g_component = "aigw";

}  // namespace

bool parse_level(std::string_view t, Level& out) {
  if (t == "debug") out = Level::debug;
  else if (t == "info") out = Level::info;
  else if (t == "warn" || t == "warning") out = Level::warn;
  else if (t == "error") out = Level::error;
  else if (t == "off") out = Level::off;
  else return false;
  return true;
}

const char* to_string(Level l) {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
    case Level::off: return "off";
  }
  return "unknown";
}

void set_level(Level l) { g_level.store(static_cast<int>(l)); }
Level level() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }

void set_component(std::string_view name) {
  std::lock_guard<std::mutex> lock(g_component_mutex);
  g_component.assign(name.data(), name.size());
}

void set_sink(std::FILE* f) { g_sink.store(f); }

void write_line(Level l, std::string_view event, std::string_view fields) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  std::tm tm{};
  gmtime_r(&ts.tv_sec, &tm);
  std::string comp;
  {
    std::lock_guard<std::mutex> lock(g_component_mutex);
    comp = g_component;
  }
  fmt::memory_buffer line;
  fmt::format_to(std::back_inserter(line),
                 "ts={:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z level={} comp={} event={}",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000, to_string(l), comp, event);
  if (!fields.empty()) {
    line.push_back(' ');
    line.append(fields);
  }
  line.push_back('\n');
  std::FILE* sink = g_sink.load();
  if (sink == nullptr) sink = stderr;
  // One fwrite per line keeps lines from different threads whole.
  std::fwrite(line.data(), 1, line.size(), sink);
  std::fflush(sink);
}

bool RateLimit::allow(int64_t now_ns, uint64_t& suppressed) {
  int64_t next = next_ns_.load(std::memory_order_relaxed);
  if (now_ns < next || !next_ns_.compare_exchange_strong(next, now_ns + interval_ns_)) {
    held_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  suppressed = held_.exchange(0);
  return true;
}

int64_t steady_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

}  // namespace aigw::log
