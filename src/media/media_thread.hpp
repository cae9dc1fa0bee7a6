// One media thread: an io_context run by one thread, the RTP streams that live on it, and
// the paced tick that sends their packets. The tick runs every 20 ms on absolute deadlines
// (no drift: a late tick does not move the next one), only while the thread has streams.
// Each stream sends what its own packet clock (ptime) has made due: one packet per tick at
// 20 ms, two (in one sendmmsg) at 10 ms; 30/40/50/60 ms streams send on the first tick at or
// after each packet's time (up to 10 ms late, timestamps exact). Everything here but stop()
// and io() runs on the thread.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace swmld::media {

class Stream;

// Counters every media thread adds to; read by Service::stats() from any thread.
struct MediaCounters {
  std::atomic<std::uint64_t> streams{0};
  std::atomic<std::uint64_t> packets_sent{0};
  std::atomic<std::uint64_t> packets_received{0};
  std::atomic<std::uint64_t> send_errors{0};
  std::atomic<std::uint64_t> late_ticks{0};
};

class MediaThread {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kTick{20};

  MediaThread(int index, MediaCounters& counters);
  ~MediaThread();  // stop()
  MediaThread(const MediaThread&) = delete;
  MediaThread& operator=(const MediaThread&) = delete;

  boost::asio::io_context& io() { return io_; }
  void stop();  // any thread but this one; joins

  // Media thread.
  void add(std::shared_ptr<Stream> stream);
  void remove(Stream* stream);

 private:
  void arm();
  void on_tick();

  MediaCounters& counters_;
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  boost::asio::steady_timer timer_{io_};
  Clock::time_point next_{};  // the deadline of the next tick
  bool ticking_ = false;
  std::vector<std::shared_ptr<Stream>> streams_;
  std::thread thread_;
};

}  // namespace swmld::media
