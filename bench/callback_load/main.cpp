// callback_load: posts status callbacks at a fixed rate through http::EventPoster and reports
// what was delivered, dropped and failed. Usage: callback_load URL [rate/s] [seconds] [urls]
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "swmld/http/event_poster.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s URL [rate_per_s=500] [seconds=5] [distinct_urls=64]\n",
                 argv[0]);
    return 2;
  }
  std::string base = argv[1];
  int rate = argc > 2 ? std::stoi(argv[2]) : 500;
  int seconds = argc > 3 ? std::stoi(argv[3]) : 5;
  int urls = argc > 4 ? std::stoi(argv[4]) : 64;  // one FIFO per URL: parallelism
  spdlog::set_level(spdlog::level::err);

  swmld::http::Client client;
  swmld::http::EventPosterConfig cfg;
  swmld::http::EventPoster poster(client, cfg);

  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  long total = static_cast<long>(rate) * seconds;
  for (long i = 0; i < total; ++i) {
    std::this_thread::sleep_until(start + std::chrono::microseconds(i * 1000000L / rate));
    std::string url = base + (base.find('?') == std::string::npos ? "?" : "&") +
                      "call=" + std::to_string(i % urls);
    poster.post(url,
                R"({"event_type":"calling.call.refer","params":{"n":)" + std::to_string(i) + "}}");
  }
  double sending = std::chrono::duration<double>(Clock::now() - start).count();
  bool drained = poster.drain(30);
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  auto s = poster.stats();
  std::printf(
      "offered %ld in %.2fs (%.0f/s); delivered %llu in %.2fs (%.0f/s); dropped %llu; "
      "failed %llu; retries %llu; drained %s\n",
      total, sending, total / sending, static_cast<unsigned long long>(s.delivered), elapsed,
      s.delivered / elapsed, static_cast<unsigned long long>(s.dropped),
      static_cast<unsigned long long>(s.failed), static_cast<unsigned long long>(s.retries),
      drained ? "yes" : "no");
  return s.delivered == static_cast<unsigned long long>(total) ? 0 : 1;
}
