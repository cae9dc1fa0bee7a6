// UdpFd: see udp_fd.hpp.
#include "udp_fd.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace swmld::media {

UdpFd& UdpFd::operator=(UdpFd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void UdpFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

UdpFd UdpFd::bind(const boost::asio::ip::udp::endpoint& at, boost::system::error_code& ec) {
  ec.clear();
  UdpFd s(::socket(at.protocol().family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s || ::bind(s.get(), at.data(), static_cast<socklen_t>(at.size())) != 0) {
    ec.assign(errno, boost::system::system_category());
    return {};
  }
  return s;
}

}  // namespace swmld::media
