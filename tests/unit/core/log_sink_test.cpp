// log::background_sink: lines reach the descriptor in order, warnings at once, nothing is
// lost at shutdown, and a stalled descriptor never blocks the thread that logs.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "swmld/core/log.hpp"

namespace swmld::log {
namespace {

using namespace std::chrono_literals;

class Pipe {
 public:
  Pipe() { EXPECT_EQ(::pipe2(fds_, O_CLOEXEC), 0); }
  ~Pipe() {
    close_write();
    if (fds_[0] >= 0) ::close(fds_[0]);
  }
  int write_fd() const { return fds_[1]; }
  void close_write() {
    if (fds_[1] >= 0) ::close(fds_[1]);
    fds_[1] = -1;
  }
  // Everything readable within `wait`; stops early once `until` has been read, or (when
  // `quiet` is not zero) once nothing came for `quiet`.
  std::string read(std::chrono::milliseconds wait, const std::string& until = "",
                   std::chrono::milliseconds quiet = std::chrono::milliseconds(0)) {
    std::string out;
    auto now = std::chrono::steady_clock::now();
    auto deadline = now + wait;
    auto last = now;
    while (now < deadline && (quiet.count() == 0 || now - last < quiet)) {
      if (!until.empty() && out.find(until) != std::string::npos) break;
      pollfd p{fds_[0], POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) {
        char buf[65536];
        ssize_t n = ::read(fds_[0], buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
        last = std::chrono::steady_clock::now();
      }
      now = std::chrono::steady_clock::now();
    }
    return out;
  }

 private:
  int fds_[2] = {-1, -1};
};

std::shared_ptr<spdlog::logger> make_logger(spdlog::sink_ptr sink) {
  auto logger = std::make_shared<spdlog::logger>("t", std::move(sink));
  logger->set_pattern("%l %v");
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::warn);
  return logger;
}

TEST(BackgroundSink, InfoWaitsForTheIntervalAWarningGoesOutAtOnceInOrder) {
  Pipe pipe;
  auto logger = make_logger(background_sink(pipe.write_fd(), 60s));
  logger->info("one");
  logger->info("two");
  EXPECT_EQ(pipe.read(300ms), "");  // batched: the interval is a minute
  logger->warn("three");
  EXPECT_EQ(pipe.read(5s, "three\n"), "info one\ninfo two\nwarning three\n");
}

TEST(BackgroundSink, LinesGoOutWithinTheInterval) {
  Pipe pipe;
  auto logger = make_logger(background_sink(pipe.write_fd(), 20ms));
  for (int i = 0; i < 100; ++i) logger->info("line {}", i);
  std::string out = pipe.read(5s, "line 99\n");
  std::string expected;
  for (int i = 0; i < 100; ++i) expected += "info line " + std::to_string(i) + "\n";
  EXPECT_EQ(out, expected);
}

TEST(BackgroundSink, DestroyingTheSinkWritesWhatIsLeft) {
  Pipe pipe;
  {
    auto logger = make_logger(background_sink(pipe.write_fd(), 60s));
    logger->info("last words");
  }  // logger and sink destroyed
  EXPECT_EQ(pipe.read(5s, "words\n"), "info last words\n");
}

TEST(BackgroundSink, AStalledDescriptorDelaysTheExitByTheStopTimeoutAtMost) {
  Pipe pipe;  // never read
  auto logger = make_logger(background_sink(pipe.write_fd(), 1ms, 1 << 20, 300ms));
  const std::string filler(200, 'x');
  for (int i = 0; i < 2000; ++i) logger->info("{} {}", i, filler);  // ~400 KB: the pipe fills
  std::this_thread::sleep_for(100ms);                                // the writer is stuck
  auto destroyed = std::async(std::launch::async, [&] {
    auto start = std::chrono::steady_clock::now();
    logger.reset();  // the last reference to the sink: the destructor writes what it can
    return std::chrono::steady_clock::now() - start;
  });
  ASSERT_EQ(destroyed.wait_for(20s), std::future_status::ready) << "the sink never gave up";
  EXPECT_LT(destroyed.get(), 300ms + 2s);  // the stop timeout, plus a poll and slack
  std::string out = pipe.read(2s);
  EXPECT_EQ(out.rfind("info 0 " + filler + "\n", 0), 0u);  // what fitted, from the start
  EXPECT_LT(out.size(), 200u * 1024u);
}

TEST(BackgroundSink, AStalledDescriptorNeverBlocksTheLoggerAndDropsAreReported) {
  Pipe pipe;  // nobody reads until the end: the writer blocks once the pipe (64 KiB) is full
  const std::uint64_t dropped_before = dropped_lines();
  auto logger = make_logger(background_sink(pipe.write_fd(), 1ms, 256 * 1024));
  const std::string filler(200, 'x');
  auto logging = std::async(std::launch::async, [&] {
    for (int i = 0; i < 20000; ++i) logger->info("{} {}", i, filler);  // ~4 MB
  });
  ASSERT_EQ(logging.wait_for(30s), std::future_status::ready) << "logging blocked";
  // Drain: everything kept comes out, with one notice per batch that followed drops (one
  // when the writer was stuck all along; more when it fell behind before the pipe filled).
  std::string out = pipe.read(20s, "", 500ms);
  logger->info("after the flood");
  out += pipe.read(20s, "after the flood\n");
  EXPECT_LT(out.size(), 1024u * 1024u);  // at most what the pipe and the buffer hold
  std::uint64_t counted = 0;
  std::size_t notices = 0, last_notice = std::string::npos;
  const std::string tail = " line(s) dropped, stderr too slow\n";
  for (auto at = out.find(tail); at != std::string::npos; at = out.find(tail, at + 1)) {
    auto count_at = out.rfind("log: ", at) + 5;
    counted += std::stoull(out.substr(count_at, at - count_at));
    ++notices;
    last_notice = at;
  }
  ASSERT_GE(notices, 1u);
  EXPECT_GT(counted, 10000u);
  // The notices' counts are what the process-wide counter (swmld_log_lines_dropped_total) added.
  EXPECT_EQ(dropped_lines() - dropped_before, counted);
  EXPECT_NE(out.find("info 0 " + filler + "\n"), std::string::npos);  // the oldest kept
  EXPECT_EQ(out.find("info 19999 "), std::string::npos);              // the newest dropped
  auto last = out.rfind("info after the flood\n");
  ASSERT_NE(last, std::string::npos);
  EXPECT_GT(last, last_notice);
}

}  // namespace
}  // namespace swmld::log
