// Counters and gauges for the Prometheus /metrics endpoint. Thread-safe; lookups take a
// mutex, increments are atomic. Owned by the composition root and passed down by pointer.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace swmld {

class Metrics {
 public:
  // Declares a metric family: `type` is "counter" or "gauge"; `help` one line of text.
  void describe(std::string_view name, std::string_view type, std::string_view help);

  // The series `name{labels}` (labels in Prometheus form: method="play",outcome="ok";
  // empty for none), created at zero on first use. The reference stays valid for the
  // lifetime of this object.
  std::atomic<std::int64_t>& series(std::string_view name, std::string_view labels = {});

  void inc(std::string_view name, std::string_view labels = {}, std::int64_t by = 1) {
    series(name, labels).fetch_add(by, std::memory_order_relaxed);
  }

  // The Prometheus text exposition format (version 0.0.4).
  std::string render() const;

 private:
  struct Family {
    std::string type = "counter";
    std::string help;
    // labels -> value; std::less<> finds by string_view without building a string
    std::map<std::string, std::unique_ptr<std::atomic<std::int64_t>>, std::less<>> series;
  };
  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace swmld
