// PortPool: even RTP ports, FIFO reuse.
#include "port_pool.hpp"

namespace swmld::media {

PortPool::PortPool(int first, int last) {
  if (first % 2) ++first;
  for (int p = first; p + 1 <= last; p += 2) free_.push_back(p);  // p+1 is RTCP
  capacity_ = free_.size();
}

std::optional<int> PortPool::acquire() {
  std::lock_guard lock(mu_);
  if (free_.empty()) return std::nullopt;
  int p = free_.front();
  free_.pop_front();
  return p;
}

void PortPool::release(int port) {
  std::lock_guard lock(mu_);
  free_.push_back(port);
}

std::size_t PortPool::available() const {
  std::lock_guard lock(mu_);
  return free_.size();
}

}  // namespace swmld::media
