#include "sim/common/toml_fields.h"

#include <fmt/format.h>

namespace aigw::sim {

TomlFields::TomlFields(const toml::table& table, std::string path)
    : table_(table), path_(std::move(path)) {}

void TomlFields::fail(std::string message) {
  if (error_.empty()) error_ = path_.empty() ? std::move(message) : path_ + ": " + message;
}

const toml::node* TomlFields::find(std::string_view key, bool required) {
  seen_.emplace(key);
  const toml::node* n = table_.get(key);
  if (!n && required) fail(fmt::format("missing required key '{}'", key));
  return n;
}

bool TomlFields::number(std::string_view key, double& out, double min, double max, bool required) {
  const toml::node* n = find(key, required);
  if (!n) return !required;
  std::optional<double> v = n->value<double>();
  if (!v || !(n->is_floating_point() || n->is_integer())) {
    fail(fmt::format("'{}' must be a number", key));
    return false;
  }
  if (!(*v >= min && *v <= max)) {
    fail(fmt::format("'{}' = {} is outside [{}, {}]", key, *v, min, max));
    return false;
  }
  out = *v;
  return true;
}

bool TomlFields::integer(std::string_view key, int64_t& out, int64_t min, int64_t max, bool required) {
  const toml::node* n = find(key, required);
  if (!n) return !required;
  if (!n->is_integer()) {
    fail(fmt::format("'{}' must be an integer", key));
    return false;
  }
  const int64_t v = *n->value<int64_t>();
  if (v < min || v > max) {
    fail(fmt::format("'{}' = {} is outside [{}, {}]", key, v, min, max));
    return false;
  }
  out = v;
  return true;
}

bool TomlFields::text(std::string_view key, std::string& out, bool required) {
  const toml::node* n = find(key, required);
  if (!n) return !required;
  if (!n->is_string()) {
    fail(fmt::format("'{}' must be a string", key));
    return false;
  }
  out = *n->value<std::string>();
  return true;
}

bool TomlFields::boolean(std::string_view key, bool& out) {
  const toml::node* n = find(key, false);
  if (!n) return true;
  if (!n->is_boolean()) {
    fail(fmt::format("'{}' must be true or false", key));
    return false;
  }
  out = *n->value<bool>();
  return true;
}

const toml::table* TomlFields::table(std::string_view key) {
  const toml::node* n = find(key, false);
  if (!n) return nullptr;
  if (!n->is_table()) {
    fail(fmt::format("'{}' must be a table", key));
    return nullptr;
  }
  return n->as_table();
}

const toml::array* TomlFields::array(std::string_view key) {
  const toml::node* n = find(key, false);
  if (!n) return nullptr;
  if (!n->is_array()) {
    fail(fmt::format("'{}' must be an array", key));
    return nullptr;
  }
  return n->as_array();
}

std::string TomlFields::finish() {
  if (error_.empty()) {
    for (const auto& [k, v] : table_) {
      (void)v;
      if (!seen_.count(k.str())) {
        fail(fmt::format("unknown key '{}'", k.str()));
        break;
      }
    }
  }
  return error_;
}

}  // namespace aigw::sim
