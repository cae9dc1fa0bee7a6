// UdpFd: a UDP socket's descriptor, owned (closed with the object). The RTP sockets are not
// Asio sockets, which re-arm epoll for every wait: their media thread's Poller watches them
// (poller.hpp says why). RTCP, a packet every few seconds, stays an Asio socket.
#pragma once

#include <boost/asio/ip/udp.hpp>
#include <boost/system/error_code.hpp>
#include <utility>

namespace swmld::media {

class UdpFd {
 public:
  UdpFd() = default;
  explicit UdpFd(int fd) : fd_(fd) {}
  UdpFd(UdpFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UdpFd& operator=(UdpFd&& other) noexcept;
  UdpFd(const UdpFd&) = delete;
  UdpFd& operator=(const UdpFd&) = delete;
  ~UdpFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset();

  // A socket of `at`'s family bound to it (close-on-exec; blocking mode: whoever reads or
  // sends says MSG_DONTWAIT). On failure `ec` says why and the result is empty.
  static UdpFd bind(const boost::asio::ip::udp::endpoint& at, boost::system::error_code& ec);

 private:
  int fd_ = -1;
};

}  // namespace swmld::media
