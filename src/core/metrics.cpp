// Prometheus text rendering of the metric families.
#include "swmld/core/metrics.hpp"

namespace swmld {

void Metrics::describe(std::string_view name, std::string_view type, std::string_view help) {
  std::lock_guard lock(mu_);
  Family& f = families_[std::string(name)];
  f.type = type;
  f.help = help;
}

std::atomic<std::int64_t>& Metrics::series(std::string_view name, std::string_view labels) {
  std::lock_guard lock(mu_);
  auto fit = families_.find(name);
  if (fit == families_.end()) fit = families_.emplace(std::string(name), Family{}).first;
  auto& slot = fit->second.series[std::string(labels)];
  if (!slot) slot = std::make_unique<std::atomic<std::int64_t>>(0);
  return *slot;
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    if (!f.help.empty()) out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, value] : f.series) {
      out += name;
      if (!labels.empty()) out += "{" + labels + "}";
      out += " " + std::to_string(value->load(std::memory_order_relaxed)) + "\n";
    }
  }
  return out;
}

}  // namespace swmld
