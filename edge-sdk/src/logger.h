// The SDK's log sink: the application's hook (aigw_edge_options.log) when set, else the
// protocol library's logfmt writer on stderr. Lines below the level are never built.
#pragma once

#include <fmt/format.h>

#include <string>
#include <utility>

#include "aigw/edge.h"
#include "protocol/log.h"

namespace aigw::edge {

class Logger {
 public:
  Logger() = default;
  Logger(aigw_log_fn hook, void* user, int level) : hook_(hook), user_(user), level_(level) {}

  bool enabled(int level) const { return level >= level_ && level < AIGW_LOG_OFF; }

  template <typename... Args>
  void log(int level, const char* event, fmt::format_string<Args...> f, Args&&... args) const {
    if (!enabled(level)) return;
    const std::string fields = fmt::format(f, std::forward<Args>(args)...);
    if (hook_ != nullptr) {
      hook_(user_, level, event, fields.c_str());
    } else {
      aigw::log::write_line(static_cast<aigw::log::Level>(level), event, fields);
    }
  }
  template <typename... Args>
  void info(const char* event, fmt::format_string<Args...> f, Args&&... a) const {
    log(AIGW_LOG_INFO, event, f, std::forward<Args>(a)...);
  }
  template <typename... Args>
  void warn(const char* event, fmt::format_string<Args...> f, Args&&... a) const {
    log(AIGW_LOG_WARN, event, f, std::forward<Args>(a)...);
  }
  template <typename... Args>
  void debug(const char* event, fmt::format_string<Args...> f, Args&&... a) const {
    log(AIGW_LOG_DEBUG, event, f, std::forward<Args>(a)...);
  }

 private:
  aigw_log_fn hook_ = nullptr;
  void* user_ = nullptr;
  int level_ = AIGW_LOG_INFO;
};

}  // namespace aigw::edge
