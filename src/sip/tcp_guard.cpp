// TcpGuard: see tcp_guard.hpp.
#include "tcp_guard.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/tcp.h>  // struct tcp_info with tcpi_bytes_received/_sent (not <netinet/tcp.h>)
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

namespace swmld::sip {
namespace {

// The peer's IP address of an accepted TCP connection on one of `ports`; empty when `fd`
// is anything else (UDP, a listening socket, another port, not a socket).
std::string accepted_peer(int fd, const std::set<int>& ports) {
  int type = 0, listening = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return {};
  len = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening) return {};
  sockaddr_storage local{}, peer{};
  socklen_t llen = sizeof local, plen = sizeof peer;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen) != 0) return {};
  int port = 0;
  if (local.ss_family == AF_INET)
    port = ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  else if (local.ss_family == AF_INET6)
    port = ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
  else
    return {};
  if (!ports.count(port)) return {};
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) return {};
  char buf[INET6_ADDRSTRLEN] = {};
  if (peer.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&peer)->sin_addr, buf, sizeof buf);
  else
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&peer)->sin6_addr, buf, sizeof buf);
  return buf;
}

}  // namespace

const char* TcpGuard::reason_name(Reason r) {
  switch (r) {
    case kOverLimit: return "over_limit";
    case kSilent: return "silent";
    case kTrickle: return "trickle";
    case kUnread: return "unread";
    default: return "?";
  }
}

std::vector<TcpGuard::Closed> TcpGuard::scan(std::chrono::steady_clock::time_point now) {
  std::vector<Closed> out;
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return out;
  std::unordered_set<unsigned long> seen;
  const auto timeout = config_.message_timeout;
  auto close_conn = [&out](Conn& c, Reason why) {
    ::shutdown(c.fd, SHUT_RDWR);  // Sofia reads the end of the stream and closes it
    c.shut = true;
    out.push_back({c.fd, c.peer, why});
  };
  char link[64];
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    int fd = std::atoi(e->d_name);
    if (fd == dirfd(dir)) continue;
    ssize_t n = readlinkat(dirfd(dir), e->d_name, link, sizeof link - 1);
    if (n <= 8 || std::strncmp(link, "socket:[", 8) != 0) continue;
    link[n] = '\0';
    unsigned long inode = std::strtoul(link + 8, nullptr, 10);
    seen.insert(inode);
    if (ignored_.count(inode)) continue;
    auto it = conns_.find(inode);
    if (it == conns_.end()) {
      std::string peer = accepted_peer(fd, config_.ports);
      if (peer.empty()) {
        ignored_.emplace(inode, true);
        continue;
      }
      Conn c;
      c.first_seen = c.last_rx_change = c.consumed_since = now;
      c.peer = std::move(peer);
      it = conns_.emplace(inode, std::move(c)).first;
    }
    Conn& c = it->second;
    c.fd = fd;
    if (c.shut) continue;
    tcp_info ti{};
    socklen_t len = sizeof ti;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) continue;
    std::uint64_t rx = ti.tcpi_bytes_received;
    std::uint64_t tx = len >= offsetof(tcp_info, tcpi_bytes_sent) + sizeof ti.tcpi_bytes_sent
                           ? ti.tcpi_bytes_sent
                           : ti.tcpi_bytes_acked;
    int inq = 0;
    if (ioctl(fd, FIONREAD, &inq) != 0) inq = 0;
    std::uint64_t consumed = rx - std::min<std::uint64_t>(rx, static_cast<std::uint64_t>(inq));

    bool answered = tx != c.tx;
    if (answered) {
      c.tx = tx;
      c.pending = false;  // we sent something on it: its requests are being answered
    }
    if (rx != c.rx) {
      c.rx = rx;
      c.last_rx_change = now;
      if (!c.pending && !answered) {
        c.pending = true;
        c.pending_since = now;
      }
    } else if (c.pending && now - c.last_rx_change >= timeout) {
      c.pending = false;  // it went quiet: Sofia's own message timer handles a partial message
    }
    if (consumed != c.consumed || inq == 0) {
      c.consumed = consumed;
      c.consumed_since = now;
    }

    if (rx == 0 && tx == 0 && now - c.first_seen >= timeout)
      close_conn(c, kSilent);
    else if (c.pending && now - c.pending_since >= timeout)
      close_conn(c, kTrickle);
    else if (inq > 0 && now - c.consumed_since >= timeout)
      close_conn(c, kUnread);
  }
  closedir(dir);

  for (auto it = conns_.begin(); it != conns_.end();)
    it = seen.count(it->first) ? std::next(it) : conns_.erase(it);
  for (auto it = ignored_.begin(); it != ignored_.end();)
    it = seen.count(it->first) ? std::next(it) : ignored_.erase(it);

  if (config_.max_per_source > 0) {
    std::unordered_map<std::string, std::vector<Conn*>> by_peer;
    for (auto& [inode, c] : conns_)
      if (!c.shut) by_peer[c.peer].push_back(&c);
    for (auto& [peer, list] : by_peer) {
      if (list.size() <= config_.max_per_source) continue;
      // The newest go: the ones seen last, then the highest descriptors.
      std::sort(list.begin(), list.end(), [](const Conn* a, const Conn* b) {
        return a->first_seen != b->first_seen ? a->first_seen > b->first_seen : a->fd > b->fd;
      });
      for (std::size_t i = 0; i < list.size() - config_.max_per_source; ++i)
        close_conn(*list[i], kOverLimit);
    }
  }
  return out;
}

}  // namespace swmld::sip
