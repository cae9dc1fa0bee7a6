// A one-shot timer as a seam between modules: the engine arms one for each call's waits; the
// SIP module implements it on the SIP thread (sip::Stack::make_timer), the engine itself on an
// io_context (Asio steady_timer).
#pragma once

#include <chrono>
#include <functional>

namespace swmld {

class DeadlineTimer {
 public:
  virtual ~DeadlineTimer() = default;
  // `fire` runs once, on the implementation's thread, at `deadline`, unless cancel() or
  // another arm() comes first.
  virtual void arm(std::chrono::steady_clock::time_point deadline, std::function<void()> fire) = 0;
  virtual void cancel() = 0;
};

}  // namespace swmld
