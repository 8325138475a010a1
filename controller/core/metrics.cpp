#include "controller/core/metrics.h"

namespace aigw::controller {

void write_family(PromText& w, const char* name, const char* help, const char* label, const CounterFamily& f) {
  w.family(name, PromType::counter, help);
  for (const auto& [k, v] : f.values()) w.sample({{label, k}}, v);
}

}  // namespace aigw::controller
