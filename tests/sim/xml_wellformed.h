// A strict-enough XML well-formedness check for the SVG files the reports write:
// one root element, balanced and properly nested tags, quoted attributes without raw
// '<' or '&', known entities only, no stray '<' or '&' in text.
#pragma once

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace aigw::sim::test {

inline bool valid_entity(std::string_view s, size_t amp, size_t& end) {
  end = s.find(';', amp);
  if (end == std::string_view::npos || end - amp > 10) return false;
  std::string_view name = s.substr(amp + 1, end - amp - 1);
  if (name == "amp" || name == "lt" || name == "gt" || name == "quot" || name == "apos") return true;
  if (name.size() > 1 && name[0] == '#') {
    for (size_t i = 1; i < name.size(); ++i)
      if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
    return true;
  }
  return false;
}

inline bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' || c == '.';
}

/// "" when `xml` is well-formed, else what is wrong and where.
inline std::string xml_wellformed(std::string_view xml) {
  std::vector<std::string> stack;
  size_t i = 0;
  bool root_seen = false;
  if (xml.substr(0, 5) == "<?xml") {
    i = xml.find("?>");
    if (i == std::string_view::npos) return "unterminated XML declaration";
    i += 2;
  }
  while (i < xml.size()) {
    const char c = xml[i];
    if (c == '&') {
      size_t end;
      if (!valid_entity(xml, i, end)) return "bad entity at " + std::to_string(i);
      i = end + 1;
      continue;
    }
    if (c != '<') {
      if (stack.empty() && !std::isspace(static_cast<unsigned char>(c)))
        return "text outside the root element at " + std::to_string(i);
      ++i;
      continue;
    }
    if (xml.substr(i, 4) == "<!--") {
      const size_t end = xml.find("-->", i + 4);
      if (end == std::string_view::npos) return "unterminated comment";
      i = end + 3;
      continue;
    }
    const bool closing = i + 1 < xml.size() && xml[i + 1] == '/';
    size_t j = i + (closing ? 2 : 1);
    const size_t name_start = j;
    while (j < xml.size() && name_char(xml[j])) ++j;
    const std::string name(xml.substr(name_start, j - name_start));
    if (name.empty()) return "empty tag name at " + std::to_string(i);
    if (closing) {
      while (j < xml.size() && std::isspace(static_cast<unsigned char>(xml[j]))) ++j;
      if (j >= xml.size() || xml[j] != '>') return "bad closing tag at " + std::to_string(i);
      if (stack.empty() || stack.back() != name) return "mismatched </" + name + "> at " + std::to_string(i);
      stack.pop_back();
      i = j + 1;
      continue;
    }
    if (stack.empty() && root_seen) return "second root element at " + std::to_string(i);
    root_seen = true;
    std::vector<std::string> attrs;
    for (;;) {
      while (j < xml.size() && std::isspace(static_cast<unsigned char>(xml[j]))) ++j;
      if (j >= xml.size()) return "unterminated tag <" + name + ">";
      if (xml[j] == '>') {
        stack.push_back(name);
        ++j;
        break;
      }
      if (xml.substr(j, 2) == "/>") {
        j += 2;
        break;
      }
      const size_t a = j;
      while (j < xml.size() && name_char(xml[j])) ++j;
      const std::string attr(xml.substr(a, j - a));
      if (attr.empty() || j + 1 >= xml.size() || xml[j] != '=' || (xml[j + 1] != '"' && xml[j + 1] != '\''))
        return "bad attribute in <" + name + "> at " + std::to_string(a);
      for (const auto& seen : attrs)
        if (seen == attr) return "duplicate attribute " + attr + " in <" + name + ">";
      attrs.push_back(attr);
      const char q = xml[j + 1];
      size_t k = j + 2;
      while (k < xml.size() && xml[k] != q) {
        if (xml[k] == '<') return "'<' in attribute " + attr;
        if (xml[k] == '&') {
          size_t end;
          if (!valid_entity(xml, k, end)) return "bad entity in attribute " + attr;
          k = end;
        }
        ++k;
      }
      if (k >= xml.size()) return "unterminated attribute " + attr;
      j = k + 1;
    }
    i = j;
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (!root_seen) return "no root element";
  return {};
}

}  // namespace aigw::sim::test
