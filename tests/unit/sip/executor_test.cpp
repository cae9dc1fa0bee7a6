// The SIP thread's posting primitive: order, inline run on the SIP thread, local wake-ups,
// timers, close, and the Asio execution context built on it.
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "sip/executor.hpp"
#include "sip/sip_context.hpp"

namespace swmld::sip {
namespace {

// Runs a minimal loop standing in for su_root: poll on the eventfd and the timerfd, and a
// local wake-up flag checked each turn (what StackCore does with a zero-delay su_timer).
class Loop {
 public:
  Loop() {
    thread_ = std::thread([this] {
      ex_->bind_to_current_thread([this] {
        local_wakeups_++;
        local_pending_ = true;
      });
      ready_ = true;
      while (!stop_) {
        if (local_pending_) {
          local_pending_ = false;
          ex_->drain();
          continue;
        }
        pollfd p[2] = {{ex_->fd(), POLLIN, 0}, {ex_->timer_fd(), POLLIN, 0}};
        if (::poll(p, 2, 20) > 0) {
          if (p[0].revents) eventfd_wakeups_++, ex_->on_eventfd();
          if (p[1].revents) ex_->fire_due();
        }
      }
      context_.shut_down();  // what StackCore does last, on the SIP thread
      ex_->close();
    });
    while (!ready_) std::this_thread::yield();
  }
  ~Loop() { stop(); }
  void stop() {
    if (thread_.joinable()) {
      stop_ = true;
      thread_.join();
    }
  }
  SipExecutor& ex() { return *ex_; }
  SipContext& context() { return context_; }
  int local_wakeups() const { return local_wakeups_; }
  int eventfd_wakeups() const { return eventfd_wakeups_; }

 private:
  std::shared_ptr<SipExecutor> ex_ = std::make_shared<SipExecutor>();
  SipContext context_{ex_};
  std::atomic<bool> ready_{false}, stop_{false};
  std::atomic<int> local_wakeups_{0}, eventfd_wakeups_{0};
  bool local_pending_ = false;  // loop thread only
  std::thread thread_;
};

// Runs `fn` on the loop thread and waits for it.
template <typename F>
void on_loop(Loop& loop, F fn) {
  std::promise<void> done;
  loop.ex().post([&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

TEST(SipExecutor, RunsPostsInOrderOnTheLoopThread) {
  Loop loop;
  std::vector<int> seen;
  std::atomic<bool> done{false};
  std::thread::id where;
  for (int i = 0; i < 100; ++i) loop.ex().post([&, i] { seen.push_back(i); where = std::this_thread::get_id(); });
  loop.ex().post([&] { done = true; });
  while (!done) std::this_thread::yield();
  ASSERT_EQ(seen.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
  EXPECT_NE(where, std::this_thread::get_id());
}

TEST(SipExecutor, RunIsInlineOnTheSipThread) {
  Loop loop;
  std::atomic<bool> inline_ran{false}, done{false};
  loop.ex().post([&] {
    bool ran = false;
    loop.ex().run([&] { ran = true; });
    inline_ran = ran;
    done = true;
  });
  while (!done) std::this_thread::yield();
  EXPECT_TRUE(inline_ran);
}

TEST(SipExecutor, RefusesPostsOnceClosed) {
  SipExecutor ex;
  ex.close();
  EXPECT_FALSE(ex.post([] {}));
}

// 200,000 posts from another thread: each runs once, in order. The rate is printed for
// docs/performance.md-style curiosity only; speed targets live in bench/, not here.
TEST(SipExecutor, ManyPostsRunOnceInOrder) {
  Loop loop;
  constexpr int kPosts = 200000;
  std::atomic<int> count{0};
  std::atomic<bool> in_order{true};
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kPosts; ++i)
    loop.ex().post([&, i] {
      if (count.load(std::memory_order_relaxed) != i) in_order = false;
      count.fetch_add(1, std::memory_order_relaxed);
    });
  while (count < kPosts) std::this_thread::yield();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ info ] %.0f posts/s (post + run)\n", kPosts / s);
  EXPECT_EQ(count.load(), kPosts);
  EXPECT_TRUE(in_order);
}

TEST(SipExecutor, PostsOnTheSipThreadUseTheLocalWakeUpNotTheEventfd) {
  Loop loop;
  std::vector<int> seen;
  on_loop(loop, [&] {});  // the loop is idle now
  int eventfd_before = loop.eventfd_wakeups();
  std::promise<void> done;
  // From a loop-thread callback that is not a drain (a timer, like a Sofia callback).
  loop.ex().arm(SipExecutor::Clock::now(), [&] {
    loop.ex().post([&] { seen.push_back(1); });
    loop.ex().post([&] { seen.push_back(2); });  // queue not empty: no second wake-up
    loop.ex().post([&] { done.set_value(); });
  });
  done.get_future().wait();
  EXPECT_EQ(seen, (std::vector<int>{1, 2}));
  EXPECT_EQ(loop.local_wakeups(), 1);
  EXPECT_EQ(loop.eventfd_wakeups(), eventfd_before);
}

TEST(SipExecutor, TasksPostedWhileDrainingRunInTheSameDrain) {
  Loop loop;
  std::vector<int> seen;
  std::promise<void> done;
  on_loop(loop, [&] {
    loop.ex().post([&] {
      seen.push_back(2);
      loop.ex().post([&] {
        seen.push_back(3);
        done.set_value();
      });
    });
    seen.push_back(1);
  });
  done.get_future().wait();  // after 3 the loop touches `seen` no more
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(loop.local_wakeups(), 0);  // posted inside drain(): it loops, no wake-up needed
}

TEST(SipExecutor, TimersFireInDeadlineOrderOnTheLoopAndCancelledOnesNever) {
  Loop loop;
  using namespace std::chrono_literals;
  auto now = SipExecutor::Clock::now();
  std::vector<int> fired;
  std::promise<void> done;
  std::thread::id where;
  loop.ex().arm(now + 60ms, [&] { fired.push_back(3); done.set_value(); });
  loop.ex().arm(now + 20ms, [&] { fired.push_back(1); where = std::this_thread::get_id(); });
  auto cancelled = loop.ex().arm(now + 30ms, [&] { fired.push_back(99); });
  loop.ex().arm(now + 40ms, [&] { fired.push_back(2); });
  loop.ex().arm(now - 1s, [&] { fired.push_back(0); });  // already due: fires at once
  loop.ex().cancel(cancelled);
  loop.ex().cancel(cancelled);  // twice, and an unknown id: no effect
  loop.ex().cancel(123456);
  ASSERT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(fired, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_NE(where, std::this_thread::get_id());
  EXPECT_EQ(loop.ex().pending_timers(), 0u);
}

TEST(SipExecutor, CloseDropsQueuedTasksAndTimersWithoutRunningThem) {
  auto owned = std::make_shared<int>(0);
  std::weak_ptr<int> watch = owned;
  {
    SipExecutor ex;
    ex.post([o = owned] { *o = 1; });
    EXPECT_NE(ex.arm(SipExecutor::Clock::now() + std::chrono::hours(1), [o = owned] { *o = 2; }), 0u);
    owned.reset();
    ex.close();
    EXPECT_TRUE(watch.expired());  // both closures destroyed by close()
    EXPECT_EQ(ex.arm(SipExecutor::Clock::now(), [] {}), 0u);
    EXPECT_FALSE(ex.post([] {}));
  }
}

// The Asio face: coroutines and strands run on the loop thread; at shut-down what the
// context still holds is destroyed there without running.
TEST(SipContext, RunsCoroutinesAndStrandsOnTheLoopThread) {
  Loop loop;
  boost::asio::any_io_executor ex = loop.context().get_executor();
  std::promise<std::thread::id> where;
  boost::asio::co_spawn(
      ex,
      [&]() -> boost::asio::awaitable<void> {
        auto strand = boost::asio::make_strand(ex);
        co_await boost::asio::post(strand, boost::asio::use_awaitable);
        co_await boost::asio::post(ex, boost::asio::use_awaitable);
        where.set_value(std::this_thread::get_id());
      },
      boost::asio::detached);
  auto id = where.get_future().get();
  EXPECT_NE(id, std::this_thread::get_id());
}

TEST(SipContext, ShutDownDestroysWhatIsStillQueued) {
  auto owned = std::make_shared<int>(0);
  std::weak_ptr<int> watch = owned;
  {
    Loop loop;
    std::promise<void> blocked;
    std::promise<void> release;
    {
      // Like an io_context's, the context's strands must not outlive it: this one goes
      // out of scope first; its queued handler keeps what it needs.
      auto strand =
          boost::asio::make_strand(boost::asio::any_io_executor(loop.context().get_executor()));
      // Hold the loop so the strand's next handler stays queued until stop().
      boost::asio::post(strand, [&] {
        blocked.set_value();
        release.get_future().wait();
      });
      blocked.get_future().wait();
      boost::asio::post(strand, [o = owned] { *o = 1; });
    }
    owned.reset();
    release.set_value();
    loop.stop();
  }
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace swmld::sip
