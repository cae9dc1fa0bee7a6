// PortPool: even RTP ports, FIFO reuse.
#include "port_pool.hpp"

namespace swmld::sip {

PortPool::PortPool(int first, int last) {
  if (first % 2) ++first;
  for (int p = first; p + 1 <= last; p += 2) free_.push_back(p);  // p+1 is RTCP
}

std::optional<int> PortPool::acquire() {
  if (free_.empty()) return std::nullopt;
  int p = free_.front();
  free_.pop_front();
  return p;
}

void PortPool::release(int port) { free_.push_back(port); }

}  // namespace swmld::sip
