// The one way into the SIP thread: an eventfd-signalled, mutex-protected queue of closures,
// registered with the su_root (su_root_register) and drained there in FIFO order.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace swmld::sip {

class SipExecutor {
 public:
  SipExecutor();  // creates the eventfd; check valid()
  ~SipExecutor();
  SipExecutor(const SipExecutor&) = delete;
  SipExecutor& operator=(const SipExecutor&) = delete;

  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  // Any thread. Queues `fn` for the SIP thread; false (and `fn` dropped) once closed.
  // Only the post that finds the queue empty writes the eventfd, so bursts cost one wake-up.
  bool post(std::function<void()> fn);
  // Any thread. Inline when called on the SIP thread, else post().
  void run(std::function<void()> fn);
  bool on_sip_thread() const { return std::this_thread::get_id() == sip_thread_.load(); }

  // SIP thread: marks the calling thread as the SIP thread.
  void bind_to_current_thread() { sip_thread_ = std::this_thread::get_id(); }
  // SIP thread (from the su_root wake-up): runs everything queued so far. Returns the count.
  std::size_t drain();
  // Any thread: later posts are refused; queued closures are destroyed without running.
  void close();

 private:
  int fd_ = -1;
  std::mutex mutex_;
  std::deque<std::function<void()>> queue_;
  bool closed_ = false;
  std::atomic<std::thread::id> sip_thread_{};
};

}  // namespace swmld::sip
