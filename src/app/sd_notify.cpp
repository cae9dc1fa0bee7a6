// sd_notify(3)'s wire protocol: a datagram of NEWLINE-separated VAR=VALUE to $NOTIFY_SOCKET.
#include "sd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace swmld::app {

SdNotifier SdNotifier::from_environment() {
  const char* path = std::getenv("NOTIFY_SOCKET");
  return SdNotifier(path ? path : "");
}

std::uint64_t SdNotifier::monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

Status SdNotifier::notify(std::string_view state) const {
  if (path_.empty()) return Ok{};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // '@' stands for the leading NUL of an abstract socket name (not NUL-terminated).
  if (path_.size() >= sizeof addr.sun_path || (path_[0] != '/' && path_[0] != '@'))
    return make_error(ErrorCode::element_invalid_value,
                      "NOTIFY_SOCKET '" + path_ + "': not an absolute path or @abstract name");
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path_.size());
  if (path_[0] == '@') {
    addr.sun_path[0] = '\0';
  } else {
    ++len;  // the path's NUL
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return make_error(ErrorCode::internal_error,
                      std::string("NOTIFY_SOCKET: socket: ") + std::strerror(errno));
  ssize_t sent = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                        reinterpret_cast<const sockaddr*>(&addr), len);
  int err = errno;
  close(fd);
  if (sent < 0 || static_cast<std::size_t>(sent) != state.size())
    return make_error(
        ErrorCode::element_invalid_value,
        "NOTIFY_SOCKET '" + path_ + "': " + (sent < 0 ? std::strerror(err) : "short write"));
  return Ok{};
}

Status SdNotifier::ready(std::string_view status) const {
  std::string msg = "READY=1";
  if (!status.empty()) msg += "\nSTATUS=" + std::string(status);
  return notify(msg);
}

Status SdNotifier::reloading() const {
  return notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()));
}

Status SdNotifier::stopping() const {
  return notify("STOPPING=1");
}

}  // namespace swmld::app
