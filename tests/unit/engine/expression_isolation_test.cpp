// One call's JavaScript must not hold its strand (the SIP thread in engine.mode sip_thread):
// costly evaluations move to the expression worker, a call's expression time is budgeted,
// and a loop of cheap steps lets the strand's other handlers run.
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>

#include "harness.hpp"

#ifndef SWMLD_TEST_SLOWDOWN
#define SWMLD_TEST_SLOWDOWN 1
#endif

namespace swmld::engine {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
constexpr long kSlowdown = SWMLD_TEST_SLOWDOWN;

// The expression worker: one thread, as the server runs it.
struct Worker {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::atomic<int> jobs{0};
  std::thread thread{[this] { io.run(); }};
  ~Worker() {
    work.reset();
    thread.join();
  }
  void attach(EngineConfig& config) {
    config.run_expressions_elsewhere = [this](std::function<void()> job) {
      ++jobs;
      boost::asio::post(io, std::move(job));
    };
  }
};

// Measures the longest time the strand (the harness's io_context) went without running a
// handler while the call ran: what a hostile call would cost the other calls' events.
struct StallMeter {
  explicit StallMeter(Harness& h) : h_(h), timer_(h.io) { tick(); }
  void tick() {
    const auto now = Clock::now();
    if (last_ != Clock::time_point{}) worst = std::max(worst, now - last_);
    last_ = now;
    if (h_.outcome) return;
    timer_.expires_after(milliseconds(1));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) tick();
    });
  }
  Clock::duration worst{};

 private:
  Harness& h_;
  boost::asio::steady_timer timer_;
  Clock::time_point last_{};
};

constexpr const char* kHostile =
    "version: 1.0.0\nsections:\n  main:\n"
    "    - label: loop\n"
    "    - set: {x: \"${(function(){ while (true) {} })()}\"}\n"
    "    - goto: {label: loop, max: 100}\n";

TEST(ExpressionIsolation, AHostileCallEndsAtItsBudgetNamingTheLimitWithoutHoldingItsStrand) {
  Harness h;
  Worker w;
  w.attach(h.config);
  h.config.sandbox.per_call = milliseconds(400);
  StallMeter stalls(h);
  const auto t0 = Clock::now();
  h.start(kHostile);
  h.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.outcome->end_reason, "error");
  ASSERT_TRUE(h.outcome->error);
  EXPECT_EQ(h.outcome->error->code, ErrorCode::js_eval_error);
  EXPECT_NE(h.outcome->error->message.find(
                "expression time budget of 400 ms per call used up "
                "(limits.expression_time_per_call) [section 'main', step 2 (set)]"),
            std::string::npos)
      << h.outcome->error->message;
  EXPECT_LT(Clock::now() - t0, milliseconds(2000 * kSlowdown));
  EXPECT_GE(w.jobs.load(), 1);
  // On the strand an evaluation gets a 2 ms slice; the 150 ms evaluations ran on the worker.
  // One of them on the strand would stall it 150 ms or more; the bound leaves room for a
  // loaded machine descheduling this thread (a 30 ms bound failed in CI under load).
  EXPECT_LT(stalls.worst, milliseconds(100 * kSlowdown))
      << std::chrono::duration_cast<milliseconds>(stalls.worst).count() << " ms";
  EXPECT_EQ(h.rec.actions.back(), "reject 500");
}

TEST(ExpressionIsolation, WithoutAWorkerTheBudgetStillEndsTheCall) {
  Harness h;
  h.config.sandbox.per_call = milliseconds(300);
  h.start(kHostile);
  h.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(h.outcome);
  ASSERT_TRUE(h.outcome->error);
  EXPECT_NE(h.outcome->error->message.find("limits.expression_time_per_call"), std::string::npos)
      << h.outcome->error->message;
}

TEST(ExpressionIsolation, ABudgetUsedUpInAConditionFailsTheStep) {
  Harness h;
  h.config.sandbox.per_call = milliseconds(50);
  h.start(
      "version: 1.0.0\nsections:\n  main:\n"
      "    - cond:\n        - when: \"(function(){ while (true) {} })()\"\n"
      "          then: [hangup]\n"
      "    - set: {after: 1}\n");
  h.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(h.outcome);
  ASSERT_TRUE(h.outcome->error);
  EXPECT_NE(h.outcome->error->message.find("limits.expression_time_per_call"), std::string::npos)
      << h.outcome->error->message;
  EXPECT_FALSE(h.outcome->vars.contains("after"));
}

TEST(ExpressionIsolation, CheapExpressionsStayOnTheStrand) {
  Harness h;
  Worker w;
  w.attach(h.config);
  h.start(
      "version: 1.0.0\nsections:\n  main:\n"
      "    - set: {a: \"${1 + 2}\"}\n"
      "    - cond:\n        - when: \"vars.a * 2 == 6\"\n          then: [{set: {b: \"${a + "
      "1}\"}}]\n");
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.outcome->vars["a"], 3);
  EXPECT_EQ(h.outcome->vars["b"], 4);
  EXPECT_EQ(w.jobs.load(), 0);
}

TEST(ExpressionIsolation, AnEvaluationOverTheSliceRunsAgainOnTheWorkerAndSoDoTheCallsNextOnes) {
  Harness h;
  Worker w;
  w.attach(h.config);
  h.start(
      "version: 1.0.0\nsections:\n  main:\n"
      "    - set: {x: \"${(function(){ var s = 0; for (var i = 0; i < 5e5; i++) s += 1; "
      "return s; })()}\"}\n"
      "    - set: {y: \"${x + 1}\"}\n");
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.outcome->end_reason, "end_of_document");
  EXPECT_EQ(h.outcome->vars["x"], 500000);
  EXPECT_EQ(h.outcome->vars["y"], 500001);
  EXPECT_FALSE(h.outcome->vars.contains("script_error"));
  EXPECT_EQ(w.jobs.load(), 2);
}

TEST(ExpressionIsolation, ALoopOfCheapStepsLetsTheStrandsOtherHandlersRunBetweenSteps) {
  Harness h;
  h.start(
      "version: 1.0.0\nsections:\n  main:\n"
      "    - label: loop\n    - set: {a: 1}\n    - goto: {label: loop, max: 100}\n");
  // Queued behind the call's first handler: without yielding, the call's 300 steps would all
  // run before it.
  bool call_was_running = false;
  boost::asio::post(h.io, [&] { call_was_running = !h.outcome; });
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.outcome->end_reason, "end_of_document");
  EXPECT_TRUE(call_was_running);
}

}  // namespace
}  // namespace swmld::engine
