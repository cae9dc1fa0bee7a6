// Where a call's coroutine waits: one parked continuation per call, resumed by wake(). The
// continuation is owned by a service of the strand's execution context, not by the call, so
// a context that shuts down with calls still waiting destroys them (coroutine frames and the
// calls they keep alive) instead of leaking a cycle.
#pragma once

#include <mutex>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution_context.hpp>

#include "swmld/core/task.hpp"

namespace swmld::engine {

struct ParkSlot {
  Task continuation;  // empty while nothing is parked
};

class ParkService final : public boost::asio::execution_context::service {
 public:
  static inline boost::asio::execution_context::id id;
  explicit ParkService(boost::asio::execution_context& ctx) : service(ctx) {}

  void add(ParkSlot* slot) {
    std::lock_guard lock(mu_);
    slots_.insert(slot);
  }
  void remove(ParkSlot* slot) {
    std::lock_guard lock(mu_);
    slots_.erase(slot);
  }

 private:
  // The context is going away with no thread running it: drop every parked continuation.
  void shutdown() override {
    std::vector<Task> dropped;
    {
      std::lock_guard lock(mu_);
      for (ParkSlot* s : slots_)
        if (s->continuation) dropped.push_back(std::move(s->continuation));
    }
    dropped.clear();  // may destroy calls, which remove() their slots: outside the lock
  }

  std::mutex mu_;
  std::unordered_set<ParkSlot*> slots_;
};

class Parking {
 public:
  explicit Parking(const boost::asio::any_io_executor& strand)
      : service_(&boost::asio::use_service<ParkService>(
            boost::asio::query(strand, boost::asio::execution::context))) {
    service_->add(&slot_);
  }
  ~Parking() { service_->remove(&slot_); }
  Parking(const Parking&) = delete;
  Parking& operator=(const Parking&) = delete;

  // On the strand: suspends until release().
  template <typename Token>
  auto wait(Token&& token) {
    return boost::asio::async_initiate<Token, void()>(
        [this](auto handler) { slot_.continuation = Task(std::move(handler)); }, token);
  }
  // On the strand, from a handler (an event, a completion, a timer; never from the parked
  // coroutine itself): resumes the parked coroutine right here, if there is one. It runs
  // until it waits again or ends; the caller must not rely on call state afterwards.
  void release() {
    if (!slot_.continuation) return;
    Task c = std::move(slot_.continuation);
    c();
  }

 private:
  ParkService* service_;
  ParkSlot slot_;
};

}  // namespace swmld::engine
