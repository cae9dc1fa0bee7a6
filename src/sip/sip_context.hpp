// The SIP thread as an Asio execution context: handlers posted through its executor run on
// the SIP thread (through SipExecutor's queue), so Asio code such as the interpreter's
// coroutines can live there (engine.mode: sip_thread). Services of the context (strands,
// the engine's parked waits) are shut down on the SIP thread once its loop has ended.
#pragma once

#include <memory>
#include <utility>

#include <boost/asio/execution.hpp>
#include <boost/asio/execution_context.hpp>

#include "executor.hpp"

namespace swmld::sip {

class SipContext final : public boost::asio::execution_context {
 public:
  explicit SipContext(std::shared_ptr<SipExecutor> queue) : queue_(std::move(queue)) {}
  ~SipContext() { shut_down(); }

  SipExecutor& queue() { return *queue_; }
  // SIP thread, after the loop: destroys what the services still hold (queued strand
  // handlers, parked coroutines). Idempotent.
  void shut_down() {
    if (down_) return;
    down_ = true;
    shutdown();
    destroy();
  }

  class executor_type {
   public:
    explicit executor_type(SipContext& ctx) noexcept : ctx_(&ctx) {}

    boost::asio::execution_context& query(boost::asio::execution::context_t) const noexcept {
      return *ctx_;
    }
    static constexpr boost::asio::execution::blocking_t query(
        boost::asio::execution::blocking_t) noexcept {
      return boost::asio::execution::blocking.never;
    }
    executor_type require(boost::asio::execution::blocking_t::never_t) const noexcept {
      return *this;
    }
    template <typename F>
    void execute(F&& f) const {
      ctx_->queue_->post(Task(std::forward<F>(f)));  // dropped once the SIP thread is gone
    }
    friend bool operator==(const executor_type& a, const executor_type& b) noexcept {
      return a.ctx_ == b.ctx_;
    }
    friend bool operator!=(const executor_type& a, const executor_type& b) noexcept {
      return a.ctx_ != b.ctx_;
    }

   private:
    SipContext* ctx_;
  };

  executor_type get_executor() noexcept { return executor_type(*this); }

 private:
  std::shared_ptr<SipExecutor> queue_;
  bool down_ = false;
};

}  // namespace swmld::sip
