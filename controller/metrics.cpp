#include "controller/metrics.h"

#include <fmt/format.h>

namespace aigw::controller {

void write_header(std::string& out, const char* name, const char* type, const char* help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void write_family(std::string& out, const char* name, const char* help, const char* label, const CounterFamily& f) {
  write_header(out, name, "counter", help);
  for (const auto& [k, v] : f.values()) fmt::format_to(std::back_inserter(out), "{}{{{}=\"{}\"}} {}\n", name, label, k, v);
}

void write_sample(std::string& out, const char* name, const char* type, const char* help, double value) {
  write_header(out, name, type, help);
  fmt::format_to(std::back_inserter(out), "{} {}\n", name, value);
}

void write_labelled(std::string& out, const char* name, const std::string& labels, double value) {
  fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", name, labels, value);
}

}  // namespace aigw::controller
