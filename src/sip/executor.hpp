// The one way into the SIP thread: an eventfd-signalled, mutex-protected queue of closures,
// registered with the su_root (su_root_register) and drained there in FIFO order; plus timers
// that fire on the SIP thread (a timerfd registered the same way), so work that runs on this
// thread (the interpreter with `engine.mode: sip_thread`) can wait without another thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "swmld/core/task.hpp"

namespace swmld::sip {

class SipExecutor {
 public:
  using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC, the timerfd's clock
  using TimerId = std::uint64_t;

  SipExecutor();  // creates the eventfd and the timerfd; check valid()
  ~SipExecutor();
  SipExecutor(const SipExecutor&) = delete;
  SipExecutor& operator=(const SipExecutor&) = delete;

  bool valid() const { return fd_ >= 0 && timer_fd_ >= 0; }
  int fd() const { return fd_; }
  int timer_fd() const { return timer_fd_; }

  // Any thread. Queues `fn` for the SIP thread; false (and `fn` dropped) once closed.
  // Only a post that finds the queue empty wakes the loop, so bursts cost one wake-up. From
  // another thread that is an eventfd write; on the SIP thread it is the local wake-up (a
  // zero-delay loop timer: no system call), and nothing at all while drain() runs (it loops).
  bool post(Task fn);
  // Any thread. Inline when called on the SIP thread, else post().
  void run(Task fn);
  bool on_sip_thread() const { return std::this_thread::get_id() == sip_thread_.load(); }

  // Any thread. `fn` runs on the SIP thread at `deadline` (or at the next loop turn when it
  // has passed) unless cancel()led first. Ids are never reused. Refused (0) once closed.
  TimerId arm(Clock::time_point deadline, Task fn);
  // Any thread. Forgets a timer that has not fired; no-op for fired or unknown ids.
  void cancel(TimerId id);
  std::size_t pending_timers() const;

  // SIP thread: marks the calling thread as the SIP thread; `local_wakeup` (may be empty:
  // the eventfd is used) makes the loop call drain() on its next turn.
  void bind_to_current_thread(std::function<void()> local_wakeup = {}) {
    local_wakeup_ = std::move(local_wakeup);
    sip_thread_ = std::this_thread::get_id();
  }
  // SIP thread, when the eventfd is readable: consumes it, then drain().
  std::size_t on_eventfd();
  // SIP thread: runs what is queued, including what those tasks post, for a bounded number
  // of rounds (then leaves the rest for the next loop turn so Sofia's sockets are served).
  // Returns the count run.
  std::size_t drain();
  // SIP thread (timerfd wake-up): runs the timers that are due.
  std::size_t fire_due();
  // Any thread: later posts and timers are refused; queued closures and timers are destroyed
  // without running.
  void close();

 private:
  void set_timerfd(Clock::time_point at);  // mutex_ held
  // Makes the loop call drain() soon: the local wake-up on the SIP thread, else the eventfd.
  void wake_loop(bool on_sip_thread);

  int fd_ = -1;
  int timer_fd_ = -1;
  mutable std::mutex mutex_;
  std::vector<Task> queue_;
  std::vector<Task> batch_;  // SIP thread only: what drain() runs (its capacity is kept)
  bool closed_ = false;
  bool draining_ = false;  // SIP thread only
  std::function<void()> local_wakeup_;  // SIP thread only
  std::atomic<std::thread::id> sip_thread_{};

  // Timers: ordered by (deadline, id); `deadlines_` finds an entry by id for cancel().
  std::map<std::pair<Clock::time_point, TimerId>, Task> timers_;
  std::unordered_map<TimerId, Clock::time_point> deadlines_;
  TimerId next_timer_ = 1;
  // When the timerfd is set to go off; max: disarmed. Cancelling the earliest timer leaves
  // it set: fire_due() finds nothing due and re-arms (one spare wake-up, no syscall per cancel).
  Clock::time_point timerfd_at_ = Clock::time_point::max();
};

}  // namespace swmld::sip
