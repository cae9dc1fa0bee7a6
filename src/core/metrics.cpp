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
  auto& series = fit->second.series;
  auto sit = series.find(labels);
  if (sit == series.end())
    sit = series.emplace(std::string(labels), std::make_unique<std::atomic<std::int64_t>>(0)).first;
  return *sit->second;
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    // Appended piece by piece (no temporaries; GCC 12 -O3 also warns on the `+` chains).
    if (!f.help.empty()) out.append("# HELP ").append(name).append(" ").append(f.help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(f.type).append("\n");
    for (const auto& [labels, value] : f.series) {
      out.append(name);
      if (!labels.empty()) out.append("{").append(labels).append("}");
      out.append(" ").append(std::to_string(value->load(std::memory_order_relaxed))).append("\n");
    }
  }
  return out;
}

}  // namespace swmld
