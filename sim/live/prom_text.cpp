#include "sim/live/prom_text.h"

#include <cctype>
#include <cstdlib>
#include <string>

namespace aigw::sim {

namespace {

bool parse_labels(std::string_view s, size_t& i, std::map<std::string, std::string>& out) {
  // At '{': name="value" pairs separated by commas, values with \" \\ \n escapes.
  ++i;
  while (i < s.size() && s[i] != '}') {
    const size_t eq = s.find('=', i);
    if (eq == std::string_view::npos || eq + 1 >= s.size() || s[eq + 1] != '"') return false;
    std::string key(s.substr(i, eq - i));
    std::string value;
    size_t j = eq + 2;
    for (; j < s.size() && s[j] != '"'; ++j) {
      if (s[j] == '\\' && j + 1 < s.size()) {
        ++j;
        value += s[j] == 'n' ? '\n' : s[j];
      } else {
        value += s[j];
      }
    }
    if (j >= s.size()) return false;
    out.emplace(std::move(key), std::move(value));
    i = j + 1;
    if (i < s.size() && s[i] == ',') ++i;
  }
  if (i >= s.size()) return false;
  ++i;  // past '}'
  return true;
}

}  // namespace

std::vector<PromSample> parse_prom_text(std::string_view text, size_t* skipped) {
  std::vector<PromSample> out;
  size_t bad = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    PromSample s;
    size_t i = 0;
    while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' || line[i] == ':')) ++i;
    s.name = std::string(line.substr(0, i));
    if (s.name.empty() || (i < line.size() && line[i] == '{' && !parse_labels(line, i, s.labels))) {
      ++bad;
      continue;
    }
    while (i < line.size() && line[i] == ' ') ++i;
    const std::string num(line.substr(i, line.find(' ', i) - i));
    char* e = nullptr;
    s.value = std::strtod(num.c_str(), &e);
    if (num.empty() || e != num.c_str() + num.size()) {
      ++bad;
      continue;
    }
    out.push_back(std::move(s));
  }
  if (skipped) *skipped = bad;
  return out;
}

double prom_sum(const std::vector<PromSample>& samples, std::string_view name,
                const std::map<std::string, std::string>& match) {
  double sum = 0;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool ok = true;
    for (const auto& [k, v] : match) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) {
        ok = false;
        break;
      }
    }
    if (ok) sum += s.value;
  }
  return sum;
}

}  // namespace aigw::sim
