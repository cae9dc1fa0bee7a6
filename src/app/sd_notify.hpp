// systemd's readiness protocol without libsystemd (sd_notify(3)): one datagram per state
// change to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or '@' for the abstract
// namespace). Without $NOTIFY_SOCKET every call does nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "swmld/core/error.hpp"

namespace swmld::app {

class SdNotifier {
 public:
  // Reads $NOTIFY_SOCKET now (systemd sets it for Type=notify services).
  static SdNotifier from_environment();
  explicit SdNotifier(std::string socket_path) : path_(std::move(socket_path)) {}

  bool enabled() const { return !path_.empty(); }

  // Sends `state` ("READY=1\nSTATUS=…") as one datagram. Any thread; does not block (the
  // socket is non-blocking: systemd's queue being full loses the message, logged by the
  // caller). Ok when disabled.
  Status notify(std::string_view state) const;

  Status ready(std::string_view status) const;
  // RELOADING=1 with MONOTONIC_USEC (systemd 253's Type=notify-reload wants the time the
  // reload began, CLOCK_MONOTONIC in microseconds).
  Status reloading() const;
  Status stopping() const;

  static std::uint64_t monotonic_usec();

 private:
  std::string path_;
};

}  // namespace swmld::app
