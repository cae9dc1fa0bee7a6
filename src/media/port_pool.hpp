// RTP port allocation: even ports of a range (the odd one above is RTCP), handed out FIFO so
// a port just released is not reused at once (late packets of the old call). Thread-safe:
// sessions take ports on their call's strand, media threads give them back.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace swmld::media {

class PortPool {
 public:
  PortPool(int first, int last);  // inclusive; odd bounds are rounded inwards
  std::optional<int> acquire();   // nullopt when exhausted
  void release(int port);
  std::size_t available() const;
  std::size_t capacity() const { return capacity_; }

 private:
  mutable std::mutex mu_;
  std::deque<int> free_;
  std::size_t capacity_ = 0;
};

}  // namespace swmld::media
