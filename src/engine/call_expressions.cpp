// A call's expressions: on its strand while they are cheap, on the expression worker once
// they are not, and within the call's expression time budget wherever they run
// (docs/architecture.md, "Expressions off the SIP thread").
// clang-format off
#include "call.hpp"  // first: it includes <utility> before Boost.Asio
// clang-format on

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace swmld::engine {

template <typename R>
asio::awaitable<R> Call::evaluate(
    std::function<R(swml::ExpressionEngine&, const swml::Scope&)> job) {
  if (!config_.run_expressions_elsewhere) co_return job(expressions_, scope());
  if (!expressions_elsewhere_) {
    // On the strand, each evaluation gets a short slice; one that needs more is stopped
    // there and run again on the worker (evaluations have no side effects).
    expressions_.set_slice(config_.expression_slice);
    R r = job(expressions_, scope());
    if (!expressions_.sliced_out()) {
      if (expressions_.used() > config_.expression_strand_share) move_expressions();
      co_return r;
    }
    expressions_.clear_sliced_out();
    move_expressions();
  }
  // The worker has the heap and reads the scope until the result is back on the strand;
  // meanwhile the call's events are handled (handle() leaves `call` alone) but no step runs.
  // The job holds the call, so a call whose coroutine is destroyed meanwhile (shutdown)
  // stays alive until the job is done; it is released on the strand.
  auto slot = std::make_shared<std::optional<R>>();
  const swml::Scope sc = scope();
  evaluating_elsewhere_ = true;
  config_.run_expressions_elsewhere(
      [self = shared_from_this(), sc, job = std::move(job), slot]() mutable {
        R r = job(self->expressions_, sc);
        Strand strand = self->strand_;
        asio::post(strand, [self = std::move(self), slot, r = std::move(r)]() mutable {
          *slot = std::move(r);
          self->evaluating_elsewhere_ = false;
          if (!self->call_.is_null()) self->call_["call_state"] = self->call_state_;
          self->wake();
        });
      });
  while (!slot->has_value()) co_await park_.wait(asio::use_awaitable);
  co_return std::move(**slot);
}

void Call::move_expressions() {
  expressions_elsewhere_ = true;
  expressions_.set_slice({});
  log(spdlog::level::info,
      "expressions: {} ms evaluated on the strand; this call's JavaScript runs on the expression "
      "worker from now on",
      std::chrono::duration_cast<std::chrono::milliseconds>(expressions_.used()).count());
}

asio::awaitable<Result<Value>> Call::expand(const Value& v) {
  if (!swml::has_placeholders(v)) co_return v;  // most steps: no scope (nor `call`) needed
  using Expanded = std::pair<Result<Value>, std::vector<Error>>;
  // Named, not a temporary inside the co_await: GCC 12 destroys such temporaries twice.
  std::function<Expanded(swml::ExpressionEngine&, const swml::Scope&)> job =
      [&v](swml::ExpressionEngine& e, const swml::Scope& sc) {
        std::vector<Error> warnings;
        auto r = e.expand(v, sc, &warnings);
        return Expanded(std::move(r), std::move(warnings));
      };
  Expanded out = co_await evaluate<Expanded>(std::move(job));
  if (expressions_.budget_exhausted()) co_return expressions_.budget_error();
  for (auto& w : out.second) {
    w.message += "; expanded as empty";
    warn(std::move(w));
  }
  co_return std::move(out.first);
}

asio::awaitable<Result<bool>> Call::condition(const std::string& js) {
  std::function<Result<bool>(swml::ExpressionEngine&, const swml::Scope&)> job =
      [js](swml::ExpressionEngine& e, const swml::Scope& sc) { return e.condition(js, sc); };
  auto out = co_await evaluate<Result<bool>>(std::move(job));
  if (expressions_.budget_exhausted()) co_return expressions_.budget_error();
  co_return out;
}

}  // namespace swmld::engine
