// sd_notify without libsystemd: datagrams to a socket the test binds (a path and an
// abstract name), and nothing at all without $NOTIFY_SOCKET.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "sd_notify.hpp"

namespace swmld::app {
namespace {

// A bound datagram socket; `name` starting with '@' is abstract.
class Listener {
 public:
  explicit Listener(const std::string& name) : name_(name) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    if (name[0] == '@') addr.sun_path[0] = '\0';
    else ::unlink(name.c_str());
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0) << std::strerror(errno);
    timeval tv{2, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Listener() {
    close(fd_);
    if (name_[0] != '@') ::unlink(name_.c_str());
  }
  std::string receive() {
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? std::string("<nothing>") : std::string(buf, static_cast<std::size_t>(n));
  }

 private:
  std::string name_;
  int fd_ = -1;
};

TEST(SdNotify, ReadyReloadingStoppingReachAPathSocket) {
  std::string path = testing::TempDir() + "sd_notify_" + std::to_string(getpid()) + ".sock";
  Listener l(path);
  SdNotifier n(path);
  ASSERT_TRUE(n.enabled());
  ASSERT_TRUE(n.ready("serving 2 route(s)").ok());
  EXPECT_EQ(l.receive(), "READY=1\nSTATUS=serving 2 route(s)");
  std::uint64_t before = SdNotifier::monotonic_usec();
  ASSERT_TRUE(n.reloading().ok());
  std::string msg = l.receive();
  std::uint64_t after = SdNotifier::monotonic_usec();
  ASSERT_EQ(msg.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << msg;
  std::uint64_t usec = std::stoull(msg.substr(std::strlen("RELOADING=1\nMONOTONIC_USEC=")));
  EXPECT_GE(usec, before);
  EXPECT_LE(usec, after);
  ASSERT_TRUE(n.stopping().ok());
  EXPECT_EQ(l.receive(), "STOPPING=1");
}

TEST(SdNotify, AnAbstractNameStartsWithAt) {
  std::string name = "@swmld-sd-notify-test-" + std::to_string(getpid());
  Listener l(name);
  ASSERT_TRUE(SdNotifier(name).ready("").ok());
  EXPECT_EQ(l.receive(), "READY=1");
}

TEST(SdNotify, WithoutNotifySocketNothingIsSent) {
  ::unsetenv("NOTIFY_SOCKET");
  SdNotifier n = SdNotifier::from_environment();
  EXPECT_FALSE(n.enabled());
  EXPECT_TRUE(n.ready("x").ok());
}

TEST(SdNotify, FromEnvironmentReadsNotifySocket) {
  std::string name = "@swmld-sd-env-" + std::to_string(getpid());
  Listener l(name);
  ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  SdNotifier n = SdNotifier::from_environment();
  ::unsetenv("NOTIFY_SOCKET");
  ASSERT_TRUE(n.stopping().ok());
  EXPECT_EQ(l.receive(), "STOPPING=1");
}

TEST(SdNotify, ANoListenerOrABadNameIsAnErrorNotACrash) {
  EXPECT_FALSE(SdNotifier(testing::TempDir() + "no-such-socket").ready("").ok());
  EXPECT_FALSE(SdNotifier("relative/path").ready("").ok());
}

}  // namespace
}  // namespace swmld::app
