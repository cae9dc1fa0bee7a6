// RTP port allocation for SDP answers: even ports of a range, handed out round-robin so a
// port just released is not reused at once. SIP thread only (no locking).
#pragma once

#include <deque>
#include <optional>

namespace swmld::sip {

class PortPool {
 public:
  PortPool(int first, int last);  // inclusive; odd bounds are rounded inwards
  std::optional<int> acquire();   // nullopt when exhausted
  void release(int port);
  std::size_t available() const { return free_.size(); }

 private:
  std::deque<int> free_;
};

}  // namespace swmld::sip
