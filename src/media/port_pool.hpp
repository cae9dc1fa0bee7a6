// RTP ports: even ports of a range (the odd one above is RTCP), handed out FIFO so a port
// just released is not reused at once (late packets of the old call), with the sockets each
// port keeps between calls. Opening, binding, registering and closing a socket for every
// call cost more than the rest of a REFER call's media (bench/refer_load); a port's sockets
// stay open, bound and with one media thread once it has been used. Thread-safe:
// sessions take ports on their call's strand, media threads give them back; a port's
// sockets are touched only by whoever holds the port (acquire/release order the hand-over).
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <boost/asio/ip/udp.hpp>

#include "udp_fd.hpp"

namespace swmld::media {

class MediaThread;

struct PortSockets {
  MediaThread* thread = nullptr;     // whose streams use them (RTCP: whose reactor has it)
  boost::asio::ip::address bound;    // the address they are bound to
  std::optional<UdpFd> rtp;          // watched by the thread's Poller while a stream has it
  std::optional<boost::asio::ip::udp::socket> rtcp;
};

class PortPool {
 public:
  PortPool(int first, int last);  // inclusive; odd bounds are rounded inwards
  std::optional<int> acquire();   // nullopt when exhausted
  void release(int port);
  std::size_t available() const;
  std::size_t capacity() const { return capacity_; }
  // The sockets kept for `port` (a port of the range): only for its holder.
  PortSockets& sockets(int port);
  // Closes every kept socket (before the media threads' io_contexts go away).
  void close_sockets();

 private:
  mutable std::mutex mu_;
  std::deque<int> free_;
  int first_ = 0;
  std::size_t capacity_ = 0;
  std::vector<PortSockets> sockets_;  // by (port - first_) / 2; sized once
};

}  // namespace swmld::media
