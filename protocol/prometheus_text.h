// Prometheus text exposition (format 0.0.4), written into a std::string: one writer for
// every /metrics page (gateway, controller), so that each family gets its # HELP and
// # TYPE lines once, label values and help texts are escaped per the format, and
// integer and floating-point values are printed the same way everywhere.
//
//   PromText w(out);
//   w.family("aigw_gateway_core_busy", PromType::gauge, "Busy fraction of each core");
//   w.sample({{"core", 0u}}, 0.25);   // aigw_gateway_core_busy{core="0"} 0.25
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

namespace aigw {

enum class PromType : uint8_t { counter, gauge };

const char* to_string(PromType t);

/// One label of a sample: a text value (escaped when written) or an unsigned integer.
struct PromLabel {
  PromLabel(std::string_view n, std::string_view v) : name(n), text(v) {}
  PromLabel(std::string_view n, const char* v) : name(n), text(v) {}
  PromLabel(std::string_view n, const std::string& v) : name(n), text(v) {}
  template <class T, std::enable_if_t<std::is_integral<T>::value, int> = 0>
  PromLabel(std::string_view n, T v) : name(n), number(static_cast<uint64_t>(v)), is_number(true) {
    static_assert(std::is_unsigned<T>::value, "label numbers are ids, ports and indices");
  }

  std::string_view name;
  std::string_view text;
  uint64_t number = 0;
  bool is_number = false;
};

class PromText {
 public:
  explicit PromText(std::string& out) : out_(out) {}

  /// Starts a family: its # HELP and # TYPE lines. The samples that follow belong to it.
  void family(std::string_view name, PromType type, std::string_view help);

  /// A sample of the current family. Integers print exactly; floating-point values in
  /// their shortest round-trip form, with +Inf, -Inf and NaN spelled as the format wants.
  template <class T>
  void sample(std::initializer_list<PromLabel> labels, T value) {
    static_assert(std::is_arithmetic<T>::value, "a sample value is a number");
    begin_sample(labels);
    if constexpr (std::is_floating_point<T>::value)
      append_value(static_cast<double>(value));
    else if constexpr (std::is_signed<T>::value)
      append_value(static_cast<int64_t>(value));
    else
      append_value(static_cast<uint64_t>(value));
    out_ += '\n';
  }
  template <class T>
  void sample(T value) {
    sample({}, value);
  }

  /// A family with one unlabelled sample.
  template <class T>
  void metric(std::string_view name, PromType type, std::string_view help, T value) {
    family(name, type, help);
    sample(value);
  }

  /// Appends `s` with backslash, double quote and newline escaped (label values).
  static void escape_label_value(std::string_view s, std::string& out);

 private:
  void begin_sample(std::initializer_list<PromLabel> labels);
  void append_value(uint64_t v);
  void append_value(int64_t v);
  void append_value(double v);

  std::string& out_;
  std::string family_;
};

}  // namespace aigw
