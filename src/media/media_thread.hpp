// One media thread: an io_context run by one thread, the RTP streams that live on it, and
// the paced tick that sends their packets. Each stream is visited every 20 ms on absolute
// deadlines (no drift: a late wake-up does not move the grid), only while the thread has
// streams. Past 128 streams they are spread over four phases 5 ms apart, so a wake-up sends
// a quarter of the packets: at 1,000 streams one burst of sends takes a quarter of the
// time, and a stream's packet leaves closer to its time; a phase without streams costs no
// wake-up. Each stream sends what its own packet clock
// (ptime) has made due at its visits: one packet at 20 ms, two (one sendmmsg) at 10 ms;
// 30/40/50/60 ms streams on the first visit at or after each packet's time (up to 10 ms
// late, timestamps exact). Other threads hand work over with run(): while the thread ticks,
// commands wait for its next wake-up (at most 5 ms) instead of waking it, so a call's set-up
// and end cost the media thread no extra wake-up under load. Everything here but run(),
// stop() and io() runs on the thread.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>

#include "poller.hpp"
#include "swmld/core/task.hpp"
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
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
  // Received and dropped (a subset of packets_received): not RTP, RTCP or STUN; RTP of a
  // payload type the call did not negotiate; RFC 4733 keys beyond rtp::KeyRate.
  std::atomic<std::uint64_t> dropped_not_rtp{0};
  std::atomic<std::uint64_t> dropped_payload_type{0};
  std::atomic<std::uint64_t> dropped_keys{0};
  std::atomic<std::uint64_t> send_errors{0};
  // Bridging: packets sent as relayed; relayed packets dropped as late (older than the last
  // one of their source) or because the other leg's thread was behind (its queue full).
  std::atomic<std::uint64_t> relayed{0};
  std::atomic<std::uint64_t> relay_late{0};
  std::atomic<std::uint64_t> relay_overflow{0};
  std::atomic<std::uint64_t> bridges_across_threads{0};  // legs on two media threads
  std::atomic<std::uint64_t> late_ticks{0};
};

class MediaThread {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kTick{20};  // a stream's visits
  static constexpr std::size_t kPhases = 4;               // wake-ups per kTick, at most
  static constexpr std::size_t kSpreadAt = 128;           // streams before phases 1-3 are used

  MediaThread(int index, MediaCounters& counters);
  ~MediaThread();  // stop()
  MediaThread(const MediaThread&) = delete;
  MediaThread& operator=(const MediaThread&) = delete;

  boost::asio::io_context& io() { return io_; }
  void stop();  // any thread but this one; joins
  // Any thread: `command` runs on this thread, in the order given, at its next wake-up (a
  // tick; when the thread is idle, one is posted). Never inline.
  void run(Task command);

  // Media thread.
  Poller& poller() { return poller_; }  // the RTP sockets of this thread's streams
  void add(std::shared_ptr<Stream> stream);
  void remove(Stream* stream);

 private:
  void arm();
  void on_tick();
  void drain();  // runs the queued commands

  MediaCounters& counters_;
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  boost::asio::steady_timer timer_{io_};
  Poller poller_{io_};
  Clock::time_point next_{};  // the deadline of the next wake-up
  std::size_t phase_ = 0;     // whose streams it visits
  bool ticking_ = false;
  std::array<std::vector<std::shared_ptr<Stream>>, kPhases> phases_;
  std::size_t streams_ = 0;
  std::mutex commands_mu_;  // guards the three below
  std::vector<Task> commands_;
  bool wake_posted_ = false;  // a drain is posted
  bool ticking_shared_ = false;  // ticking_, as run() sees it: a tick will drain
  std::thread thread_;
};

}  // namespace swmld::media
