// Stack start-up and shutdown: binding errors name the address; start/stop is clean.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "swmld/sip/stack.hpp"

namespace swmld::sip {
namespace {

// A UDP socket bound to an ephemeral loopback port; its port is "in use" while it lives.
class BusyPort {
 public:
  BusyPort() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~BusyPort() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_;
};

TEST(Stack, StartFailsNamingTheAddressInUse) {
  BusyPort busy;
  StackConfig config;
  std::string addr = "udp:127.0.0.1:" + std::to_string(busy.port());
  config.listen = {addr};
  auto stack = Stack::start(config, [](std::shared_ptr<Leg>) {});
  ASSERT_FALSE(stack);
  EXPECT_NE(stack.error().message.find(addr), std::string::npos) << stack.error().message;
}

TEST(Stack, StartFailsOnAnInvalidAddress) {
  StackConfig config;
  config.listen = {"udp:localhost:5060"};
  auto stack = Stack::start(config, [](std::shared_ptr<Leg>) {});
  ASSERT_FALSE(stack);
  EXPECT_NE(stack.error().message.find("udp:localhost:5060"), std::string::npos);
}

TEST(Stack, StartsDrainsAndShutsDown) {
  int port;
  { BusyPort probe; port = probe.port(); }  // free again once closed
  StackConfig config;
  config.listen = {"udp:127.0.0.1:" + std::to_string(port), "tcp:127.0.0.1:" + std::to_string(port)};
  auto stack = Stack::start(config, [](std::shared_ptr<Leg>) {});
  ASSERT_TRUE(stack) << stack.error().message;
  EXPECT_EQ((*stack)->active_legs(), 0u);
  (*stack)->drain();
  (*stack)->shutdown();
  (*stack)->shutdown();  // idempotent
}

}  // namespace
}  // namespace swmld::sip
