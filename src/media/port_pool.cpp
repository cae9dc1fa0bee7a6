// PortPool: even RTP ports, FIFO reuse, and the sockets each keeps.
#include "port_pool.hpp"

namespace swmld::media {

PortPool::PortPool(int first, int last) {
  if (first % 2) ++first;
  first_ = first;
  for (int p = first; p + 1 <= last; p += 2) free_.push_back(p);  // p+1 is RTCP
  capacity_ = free_.size();
  sockets_.resize(capacity_);
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

PortSockets& PortPool::sockets(int port) {
  return sockets_.at(static_cast<std::size_t>((port - first_) / 2));
}

void PortPool::close_sockets() {
  std::lock_guard lock(mu_);
  for (auto& s : sockets_) {
    s.rtp.reset();
    s.rtcp.reset();
  }
}

}  // namespace swmld::media
