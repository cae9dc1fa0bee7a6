// The observability endpoint's probes: /readyz says starting, ready and draining; /healthz
// is 200 until draining (a real listener on 127.0.0.1, port chosen by the system).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "metrics_server.hpp"

namespace swmld::app {
namespace {

// One HTTP/1.0 GET; returns the status line and body ("503 starting\n").
std::string get(unsigned short port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "connect failed";
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: x\r\n\r\n";
  (void)!write(fd, req.data(), req.size());
  std::string res;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) res.append(buf, static_cast<std::size_t>(n));
  close(fd);
  auto code = res.substr(9, 3);
  auto body = res.find("\r\n\r\n");
  return code + " " + (body == std::string::npos ? "" : res.substr(body + 4));
}

TEST(MetricsServer, ReadyzIsStartingThenReadyThenDraining) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread t([&] { io.run(); });
  std::atomic<bool> draining{false}, ready{false};
  auto server = MetricsServer::start(io, "127.0.0.1:0", [] { return std::string("m 1\n"); },
                                     draining, ready);
  ASSERT_TRUE(server.ok()) << server.error().str();
  unsigned short port = (*server)->port();
  EXPECT_EQ(get(port, "/readyz"), "503 starting\n");
  EXPECT_EQ(get(port, "/healthz"), "200 ok\n");
  ready = true;
  EXPECT_EQ(get(port, "/readyz"), "200 ready\n");
  EXPECT_EQ(get(port, "/metrics"), "200 m 1\n");
  draining = true;
  EXPECT_EQ(get(port, "/readyz"), "503 draining\n");
  EXPECT_EQ(get(port, "/healthz"), "503 draining\n");
  (*server)->stop();
  work.reset();
  io.stop();
  t.join();
}

}  // namespace
}  // namespace swmld::app
