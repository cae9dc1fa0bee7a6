// TcpGuard: bounds what one peer can hold over SIP/TCP where Sofia-SIP does not. Sofia's
// timers restart at every byte read (a peer trickling one byte a second keeps a message
// open for ever), it never limits connections per source, and after a non-SIP line it stops
// reading a connection until its idle timer. The guard looks at the process's accepted TCP
// connections on the SIP ports from the kernel's side (/proc/self/fd, TCP_INFO, SIOCINQ)
// and shuts down the ones to close; Sofia then sees the end of the stream and closes them
// itself. No Sofia type here: it is tested with sockets of its own.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace swmld::sip {

struct TcpGuardConfig {
  std::set<int> ports;             // local TCP ports swmld listens on (SIP over TCP, TLS)
  unsigned max_per_source = 0;     // connections from one IP address; 0: no limit
  // A connection is closed when for this long: it has sent nothing since it was accepted
  // (silent); bytes have kept arriving without a complete request (nothing sent back on it:
  // a trickle); or bytes have waited unread (Sofia stopped reading it).
  std::chrono::milliseconds message_timeout{32'000};
};

class TcpGuard {
 public:
  enum Reason { kOverLimit, kSilent, kTrickle, kUnread, kReasons };
  static const char* reason_name(Reason r);

  explicit TcpGuard(TcpGuardConfig config) : config_(std::move(config)) {}

  struct Closed {
    int fd;
    std::string peer;
    Reason reason;
  };
  // One look at the process's sockets at `now`: shuts down (SHUT_RDWR) every connection to
  // close and returns them. `now` is steady time (tests pass their own).
  std::vector<Closed> scan(std::chrono::steady_clock::time_point now);

  std::size_t tracked() const { return conns_.size(); }
  const TcpGuardConfig& config() const { return config_; }

 private:
  struct Conn {
    std::chrono::steady_clock::time_point first_seen, last_rx_change, pending_since, consumed_since;
    bool pending = false;  // bytes have kept arriving since pending_since, nothing sent back
    bool shut = false;     // shut down by us; Sofia has yet to close it
    std::uint64_t rx = 0, tx = 0, consumed = 0;  // bytes received, sent, read by Sofia
    int fd = -1;
    std::string peer;
  };
  TcpGuardConfig config_;
  std::unordered_map<unsigned long, Conn> conns_;   // by socket inode
  std::unordered_map<unsigned long, bool> ignored_;  // inodes that are not ours to watch
};

}  // namespace swmld::sip
