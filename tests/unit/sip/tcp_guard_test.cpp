// TcpGuard against real loopback sockets: a listener of the test's own stands in for Sofia's
// (the test reads what it accepts, as Sofia would), and the guard's clock is the test's.
#include "sip/tcp_guard.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace swmld::sip {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(fd, 64), 0);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { close(fd); }
  int connect_one() const {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    EXPECT_EQ(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return c;
  }
  int accept_one() const { return accept(fd, nullptr, nullptr); }
};

// True when the peer of `client` has shut the connection down (EOF within 1 s).
bool closed_by_server(int client) {
  pollfd p{client, POLLIN, 0};
  if (poll(&p, 1, 1000) <= 0) return false;
  char buf[256];
  return recv(client, buf, sizeof buf, MSG_DONTWAIT) == 0;
}

void read_all(int fd) {
  char buf[4096];
  while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
  }
}

TcpGuard make_guard(int port, unsigned per_source, std::chrono::milliseconds timeout) {
  TcpGuardConfig c;
  c.ports = {port};
  c.max_per_source = per_source;
  c.message_timeout = timeout;
  return TcpGuard(c);
}

TEST(TcpGuard, ClosesTheNewestConnectionsOverThePerSourceLimit) {
  Listener l;
  auto guard = make_guard(l.port, 3, 10s);
  std::vector<int> clients, served;
  auto t = Clock::now();
  for (int i = 0; i < 3; ++i) {
    clients.push_back(l.connect_one());
    served.push_back(l.accept_one());
  }
  EXPECT_TRUE(guard.scan(t).empty());
  EXPECT_EQ(guard.tracked(), 3u);
  for (int i = 0; i < 2; ++i) {
    clients.push_back(l.connect_one());
    served.push_back(l.accept_one());
  }
  auto closed = guard.scan(t + 100ms);
  ASSERT_EQ(closed.size(), 2u);
  for (const auto& c : closed) {
    EXPECT_EQ(c.reason, TcpGuard::kOverLimit);
    EXPECT_EQ(c.peer, "127.0.0.1");
    EXPECT_TRUE(c.fd == served[3] || c.fd == served[4]) << c.fd;
  }
  EXPECT_TRUE(closed_by_server(clients[3]));
  EXPECT_TRUE(closed_by_server(clients[4]));
  EXPECT_FALSE(closed_by_server(clients[0]));
  // Those already shut down are not counted again.
  EXPECT_TRUE(guard.scan(t + 200ms).empty());
  for (int fd : clients) close(fd);
  for (int fd : served) close(fd);
  guard.scan(t + 300ms);
  EXPECT_EQ(guard.tracked(), 0u);
}

TEST(TcpGuard, ClosesASilentConnectionAfterTheMessageTimeoutNotBefore) {
  Listener l;
  auto guard = make_guard(l.port, 0, 2s);
  int client = l.connect_one();
  int served = l.accept_one();
  auto t = Clock::now();
  EXPECT_TRUE(guard.scan(t).empty());
  EXPECT_TRUE(guard.scan(t + 1900ms).empty());
  auto closed = guard.scan(t + 2s);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].reason, TcpGuard::kSilent);
  EXPECT_TRUE(closed_by_server(client));
  close(client);
  close(served);
}

TEST(TcpGuard, ClosesATrickleButNotAConnectionThatIsAnswered) {
  Listener l;
  auto guard = make_guard(l.port, 0, 2s);
  int trickler = l.connect_one(), trickled = l.accept_one();
  int caller = l.connect_one(), called = l.accept_one();
  auto t = Clock::now();
  guard.scan(t);
  for (int s = 1; s <= 3; ++s) {
    ASSERT_EQ(send(trickler, "X", 1, 0), 1);
    ASSERT_EQ(send(caller, "REQUEST", 7, 0), 7);
    std::this_thread::sleep_for(20ms);
    read_all(trickled);
    read_all(called);
    ASSERT_EQ(send(called, "ANSWER", 6, 0), 6);  // a response to each request
    auto closed = guard.scan(t + std::chrono::seconds(s));
    if (s < 3) {
      EXPECT_TRUE(closed.empty()) << s;
    } else {
      ASSERT_EQ(closed.size(), 1u);
      EXPECT_EQ(closed[0].fd, trickled);
      EXPECT_EQ(closed[0].reason, TcpGuard::kTrickle);
    }
  }
  EXPECT_TRUE(closed_by_server(trickler));
  // A message that arrives and is not answered (an ACK) and then silence: kept.
  ASSERT_EQ(send(caller, "ACK", 3, 0), 3);
  std::this_thread::sleep_for(20ms);
  read_all(called);
  EXPECT_TRUE(guard.scan(t + 4s).empty());
  EXPECT_TRUE(guard.scan(t + 7s).empty());
  EXPECT_TRUE(guard.scan(t + 10s).empty());
  for (int fd : {trickler, trickled, caller, called}) close(fd);
}

TEST(TcpGuard, ClosesAConnectionWhoseBytesAreLeftUnread) {
  Listener l;
  auto guard = make_guard(l.port, 0, 2s);
  int client = l.connect_one(), served = l.accept_one();
  auto t = Clock::now();
  guard.scan(t);
  ASSERT_EQ(send(client, "HELLO WORLD\r\n\r\nmore", 19, 0), 19);
  std::this_thread::sleep_for(20ms);
  ASSERT_EQ(send(served, "x", 1, 0), 1);  // not a trickle: something was sent back
  EXPECT_TRUE(guard.scan(t + 1s).empty());
  auto closed = guard.scan(t + 3100ms);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].reason, TcpGuard::kUnread);
  close(client);
  close(served);
}

TEST(TcpGuard, LeavesOtherPortsAndListenersAlone) {
  Listener l, other;
  auto guard = make_guard(l.port, 1, 1s);
  int a = other.connect_one(), b = other.connect_one();
  int sa = other.accept_one(), sb = other.accept_one();
  auto t = Clock::now();
  EXPECT_TRUE(guard.scan(t).empty());
  EXPECT_TRUE(guard.scan(t + 5s).empty());
  EXPECT_EQ(guard.tracked(), 0u);
  for (int fd : {a, b, sa, sb}) close(fd);
}

}  // namespace
}  // namespace swmld::sip
