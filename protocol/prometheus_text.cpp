#include "protocol/prometheus_text.h"

#include <fmt/format.h>

#include <cmath>
#include <iterator>

namespace aigw {

namespace {

// HELP text escapes backslash and newline; label values also the double quote.
void append_escaped(std::string_view s, bool quote, std::string& out) {
  for (const char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '"':
        if (quote) {
          out += "\\\"";
          break;
        }
        out += c;
        break;
      default: out += c;
    }
  }
}

}  // namespace

const char* to_string(PromType t) { return t == PromType::gauge ? "gauge" : "counter"; }

void PromText::escape_label_value(std::string_view s, std::string& out) { append_escaped(s, true, out); }

void PromText::family(std::string_view name, PromType type, std::string_view help) {
  family_.assign(name.data(), name.size());
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_escaped(help, false, out_);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += to_string(type);
  out_ += '\n';
}

void PromText::begin_sample(std::initializer_list<PromLabel> labels) {
  out_ += family_;
  if (labels.size() != 0) {
    char sep = '{';
    for (const PromLabel& l : labels) {
      out_ += sep;
      out_ += l.name;
      out_ += "=\"";
      if (l.is_number)
        fmt::format_to(std::back_inserter(out_), "{}", l.number);
      else
        escape_label_value(l.text, out_);
      out_ += '"';
      sep = ',';
    }
    out_ += '}';
  }
  out_ += ' ';
}

void PromText::append_value(uint64_t v) { fmt::format_to(std::back_inserter(out_), "{}", v); }

void PromText::append_value(int64_t v) { fmt::format_to(std::back_inserter(out_), "{}", v); }

void PromText::append_value(double v) {
  if (std::isnan(v))
    out_ += "NaN";
  else if (std::isinf(v))
    out_ += v > 0 ? "+Inf" : "-Inf";
  else
    fmt::format_to(std::back_inserter(out_), "{}", v);
}

}  // namespace aigw
