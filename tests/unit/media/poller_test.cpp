// Poller: the RTP sockets of a media thread in an epoll set of their own (poller.hpp).
// Real UDP sockets on loopback and a real io_context.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <chrono>
#include <functional>
#include <string>

#include "media/poller.hpp"
#include "media/udp_fd.hpp"

namespace swmld::media {
namespace {

using boost::asio::ip::udp;
using namespace std::chrono_literals;

// A socket on 127.0.0.1 (a port of the kernel's choice) and what its reader saw.
struct Socket final : Poller::Reader {
  Socket() {
    boost::system::error_code ec;
    fd = UdpFd::bind({boost::asio::ip::make_address("127.0.0.1"), 0}, ec);
    EXPECT_FALSE(ec) << ec.message();
    sockaddr_storage a{};
    socklen_t n = sizeof a;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &n);
    std::memcpy(at.data(), &a, n);
    at.resize(n);
  }
  void on_readable() override {
    ++calls;
    std::array<char, 64> b;
    ssize_t n;
    while ((n = ::recv(fd.get(), b.data(), b.size(), MSG_DONTWAIT)) >= 0)
      received.append(b.data(), static_cast<std::size_t>(n)).push_back('|');
    if (then) then();
  }
  UdpFd fd;
  udp::endpoint at;
  Poller::Token token = 0;
  int calls = 0;
  std::string received;
  std::function<void()> then;  // runs inside on_readable
};

void send_to(const Socket& s, const std::string& what) {
  UdpFd from(::socket(AF_INET, SOCK_DGRAM, 0));
  ASSERT_EQ(::sendto(from.get(), what.data(), what.size(), 0, s.at.data(),
                     static_cast<socklen_t>(s.at.size())),
            static_cast<ssize_t>(what.size()));
}

// An io_context (run by the test itself) and its Poller.
class PollerTest : public ::testing::Test {
 protected:
  bool watch(Socket& s) { return poller.add(s.fd.get(), s, s.token); }
  void unwatch(Socket& s) { poller.remove(s.fd.get(), s.token); }
  // Runs the io_context until `done` or 2 s.
  bool run_until(const std::function<bool()>& done) {
    const auto end = std::chrono::steady_clock::now() + 2s;
    while (!done() && std::chrono::steady_clock::now() < end) run_for(10ms);
    return done();
  }
  void run_for(std::chrono::milliseconds d) {
    io.restart();
    io.run_for(d);
  }

  boost::asio::io_context io;
  Poller poller{io};
};

TEST_F(PollerTest, HandsOverEachReadableSocketAndNoRemovedOne) {
  Socket a, b;
  ASSERT_TRUE(watch(a));
  ASSERT_TRUE(watch(b));
  EXPECT_EQ(poller.watched(), 2u);
  send_to(a, "one");
  send_to(b, "two");
  ASSERT_TRUE(run_until([&] { return a.calls > 0 && b.calls > 0; }));
  EXPECT_EQ(a.received, "one|");
  EXPECT_EQ(b.received, "two|");

  unwatch(b);
  EXPECT_EQ(poller.watched(), 1u);
  send_to(b, "lost");
  send_to(a, "three");
  ASSERT_TRUE(run_until([&] { return a.received == "one|three|"; }));
  run_for(50ms);
  EXPECT_EQ(b.calls, 1);
  EXPECT_EQ(b.received, "two|");
  // Removing twice, or with an old token, changes nothing.
  unwatch(b);
  EXPECT_EQ(poller.watched(), 1u);
}

TEST_F(PollerTest, AReaderRemovedByAnotherInTheSameWakeUpIsNotCalled) {
  Socket a, b, c;
  ASSERT_TRUE(watch(a));
  ASSERT_TRUE(watch(b));
  // Both readable before the thread runs: one wake-up hands over both, `a` first (epoll's
  // ready list keeps the order). a's call ends b (as a call's end closes its streams) and
  // starts c, which takes b's slot: b's event of this wake-up goes to neither.
  a.then = [&] {
    unwatch(b);
    ASSERT_TRUE(watch(c));
  };
  send_to(a, "x");
  send_to(b, "y");
  ASSERT_TRUE(run_until([&] { return a.calls > 0; }));
  run_for(50ms);
  EXPECT_EQ(b.calls, 0);
  EXPECT_EQ(c.calls, 0);
  EXPECT_EQ(static_cast<std::uint32_t>(c.token), static_cast<std::uint32_t>(b.token));
  EXPECT_NE(c.token, b.token);
  a.then = nullptr;
  send_to(c, "z");
  ASSERT_TRUE(run_until([&] { return c.calls > 0; }));
  EXPECT_EQ(c.received, "z|");
  EXPECT_EQ(b.calls, 0);
}

TEST_F(PollerTest, EveryNewDatagramWakesTheReaderAgain) {
  // Edge-triggered: a reader that drained its socket is called for the next datagram, once
  // per wake-up however many arrived since.
  Socket a;
  ASSERT_TRUE(watch(a));
  for (int i = 0; i < 5; ++i) {
    send_to(a, std::to_string(i));
    ASSERT_TRUE(run_until([&] { return a.calls == i + 1; })) << i;
  }
  EXPECT_EQ(a.received, "0|1|2|3|4|");
}

TEST_F(PollerTest, NothingWatchedLeavesNoWaitPending) {
  // The io_context's run() returns once the last socket is removed: the set is not re-armed
  // for nobody (a media thread without streams has no work left of it).
  Socket a;
  ASSERT_TRUE(watch(a));
  a.then = [&] { unwatch(a); };
  send_to(a, "last");
  const auto start = std::chrono::steady_clock::now();
  io.run();  // returns: no work left
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(a.calls, 1);
  EXPECT_EQ(poller.watched(), 0u);
}

TEST_F(PollerTest, AnUnwatchableDescriptorIsRefused) {
  Socket a;
  Poller::Token token = 0;
  EXPECT_FALSE(poller.add(-1, a, token));
  EXPECT_EQ(poller.watched(), 0u);
  ASSERT_TRUE(watch(a));  // the refused one's slot is free again
  EXPECT_EQ(static_cast<std::uint32_t>(a.token), 0u);
}

}  // namespace
}  // namespace swmld::media
