// Reads the fields of one TOML table into a plain config struct with range checks,
// and reports the first problem with its dotted path ("gateway[2].ports"), plus any
// key the table has that nobody asked for (a typo must not be silently ignored).
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace aigw::sim {

class TomlFields {
 public:
  /// `path` names the table in messages, e.g. "impairment" or "streams[0]".
  TomlFields(const toml::table& table, std::string path);

  /// Each getter leaves `out` unchanged when the key is absent and `required` is false.
  /// They return false (and record an error) on a wrong type or an out-of-range value.
  bool number(std::string_view key, double& out, double min, double max, bool required = false);
  bool integer(std::string_view key, int64_t& out, int64_t min, int64_t max, bool required = false);
  bool text(std::string_view key, std::string& out, bool required = false);
  bool boolean(std::string_view key, bool& out);
  /// A sub-table, or nullptr when absent (an error when present but not a table).
  const toml::table* table(std::string_view key);
  /// An array, or nullptr when absent (an error when present but not an array).
  const toml::array* array(std::string_view key);

  template <typename T>
  bool unsigned_int(std::string_view key, T& out, int64_t min, int64_t max, bool required = false) {
    int64_t v = static_cast<int64_t>(out);
    if (!integer(key, v, min, max, required)) return false;
    out = static_cast<T>(v);
    return true;
  }

  /// Records an error about this table (first error wins).
  void fail(std::string message);
  /// Checks for unknown keys; returns the first error or "" when all is well.
  std::string finish();
  bool ok() const { return error_.empty(); }
  const std::string& path() const { return path_; }

 private:
  const toml::node* find(std::string_view key, bool required);

  const toml::table& table_;
  std::string path_;
  std::set<std::string, std::less<>> seen_;
  std::string error_;
};

}  // namespace aigw::sim
