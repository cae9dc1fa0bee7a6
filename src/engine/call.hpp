// The per-call interpreter: variables, frames, steps, the legs of the call and the one wait
// primitive every step uses. Per-leg state lives in Leg, a method's state in its method.
// Lives on the call's strand; nothing here is locked.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/any_io_executor.hpp>

#include <spdlog/spdlog.h>

#include "flow.hpp"
#include "leg.hpp"
#include "parking.hpp"
#include "swmld/engine/executor.hpp"
#include "swmld/swml/expression.hpp"

namespace swmld::engine {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
// The call's executor: runs the call's handlers one at a time (a strand of a multi-threaded
// io_context, or a single-threaded context such as the SIP thread). "Strand" below means it.
using Strand = asio::any_io_executor;

// Where the interpreter is inside a frame: the steps being run, outermost first, with the
// branches taken between them (a switch case, a cond branch, an execute's on_return). Kept
// as pointers into the immutable document; put into words only when an error names it.
struct PathEntry {
  std::size_t index = 0;                      // steps: 0-based index in its block
  const swml::Step* step = nullptr;           // set for steps
  const swml::Selector* selector = nullptr;   // branches of a cond/switch/execute.result
  const swml::Branch* branch = nullptr;       // null with a null step: execute's on_return
};

// One activation of a section: `execute` pushes one, `return` pops it, `transfer` replaces it.
struct Frame {
  swml::DocumentPtr document;
  std::string section;
  Value params = Value::object();
  std::vector<PathEntry> path;
};

// A step's view of the call's events: each event a leg reports is offered to the handlers
// subscribed at that moment (after the leg itself has taken it), then the waiting step is
// woken. A method keeps its own state (REFER progress, say) in the handler's captures.
using EventHandler = std::function<void(Leg& leg, const call::Event& event)>;

class Call : public CallRun, public std::enable_shared_from_this<Call> {
 public:
  Call(asio::any_io_executor executor, std::shared_ptr<const EngineConfig> config, CallPorts ports,
       CallSetup setup, std::function<void(CallOutcome)> done);

  void begin();  // attaches the inbound leg's ports, spawns the run coroutine on the strand

  // ---- used by methods (strand only) ----
  const EngineConfig& config() const { return config_; }
  // The shared services (http, events, fetcher); the inbound leg's ports are in inbound().
  CallPorts& ports() { return ports_; }
  Strand& strand() { return strand_; }
  const std::string& log_context() const { return log_context_; }

  Value& vars() { return vars_; }
  const Value& call_info() { return call_value(); }
  swml::Scope scope() { return {&call_value(), &vars_, &frame().params, &envs_}; }
  swml::ExpressionEngine& expressions() { return expressions_; }
  Frame& frame() { return frames_.back(); }
  const Frame& frame() const { return frames_.back(); }

  // Expands every placeholder of `v` against the current scope. A placeholder that fails to
  // evaluate is a warning (see warn()) and expands like a path with no value; only a
  // malformed placeholder, or the call's expression time budget used up, fails the
  // expansion. `v` must live as long as the call (a value of its document): the JavaScript
  // may run on the expression worker (EngineConfig::run_expressions_elsewhere).
  asio::awaitable<Result<Value>> expand(const Value& v);
  // A bare JavaScript condition (`cond.when`, `goto.when`), where expand() would run it.
  asio::awaitable<Result<bool>> condition(const std::string& js);

  // Runs the steps of a block (a section body or a branch). Handles `goto` to labels of
  // this block; other flows go to the caller.
  asio::awaitable<Flow> run_block(const swml::Block& block);
  // Runs a branch's block, named in the step path of errors raised inside it
  // (`selector`/`branch` null: an execute's on_return).
  asio::awaitable<Flow> run_branch(const swml::Block& block, const swml::Selector* selector,
                                   const swml::Branch* branch);

  // A runtime error the document goes on after (a `calling.script.warning` in SignalWire's
  // words): logged at warn with the failing step's place, `script_error` set, counted in
  // swmld_script_warnings_total, and reported to EngineConfig::on_warning.
  void warn(Error error);
  // `execute`: runs a destination (section name, URL or inline JSON document) as a new
  // frame and comes back. Sets `return_value` from the callee's `return`.
  asio::awaitable<Flow> call_destination(const std::string& dest, Value params);

  // Waits on the strand until `ready()` is true, the call hangs up, or `timeout` (scaled by
  // config.time_scale) passes. Returns ready(). No timeout: wait until ready or hangup.
  asio::awaitable<bool> wait_until(const std::function<bool()>& ready,
                                   std::optional<std::chrono::milliseconds> timeout);
  // The same with an absolute deadline (see deadline_after).
  asio::awaitable<bool> wait_until_at(const std::function<bool()>& ready,
                                      Clock::time_point deadline);
  // Now + `timeout`, scaled by config.time_scale.
  Clock::time_point deadline_after(std::chrono::milliseconds timeout) const;
  // Wakes the waiting step so it re-checks its condition.
  void wake();
  // Runs `fn` on the strand once `delay` (scaled by config.time_scale) has passed, unless
  // the returned timer is destroyed or cancelled first, or the call has ended. `fn` must
  // not refer to state that may be gone by then (capture shared state).
  std::unique_ptr<DeadlineTimer> after(std::chrono::milliseconds delay, std::function<void()> fn);

  // A completion callback for a port operation: callable once from any thread, it stores
  // its argument into `slot` on the strand and wakes the call. Safe after the call ended.
  template <typename T>
  std::function<void(T)> completion(std::shared_ptr<std::optional<T>> slot) {
    return [self = weak_from_this(), strand = strand_, slot](T v) mutable {
      asio::post(strand, [self, slot, v = std::move(v)]() mutable {
        *slot = std::move(v);
        if (auto c = self.lock()) c->wake();
      });
    };
  }

  // Makes sure the focus leg is answered (methods that need media or a dialog).
  asio::awaitable<Flow> ensure_answered();
  // Early media (183 with SDP) unless answered already: `play` with auto_answer false.
  Flow ensure_early_media();
  bool answered() const { return inbound().answered(); }
  // Ends the call from our side (hangup step): reject before answer, BYE after. Once.
  void end_call(HangupReason reason);
  // finish(): why the far end's side ended the call ("remote_hangup", "ack_timeout").
  std::string remote_end_reason();
  // The inbound leg, or the focus leg, is gone (the far end hung up, or we ended it): steps
  // stop waiting.
  bool hung_up() const { return inbound().gone() || focus().gone(); }

  // The call's legs: [0] is the inbound one, then the outbound legs `connect` dialled, in
  // order (kept until the call ends, so an index names one leg for the whole call).
  Leg& inbound() { return *legs_.front(); }
  const Leg& inbound() const { return *legs_.front(); }
  Leg& leg(std::size_t index) { return *legs_[index]; }
  std::size_t leg_count() const { return legs_.size(); }
  // Adds an outbound leg whose events were posted to leg_events_for(leg_count()); returns it.
  Leg& add_leg(std::shared_ptr<call::CallControl> control, std::unique_ptr<call::MediaControl> media);
  // The sink of the leg that add_leg() will add next (a dialer needs it before the leg exists).
  std::shared_ptr<call::Events> leg_events_for(std::size_t index);
  // The leg the media and dialog steps (play, prompt, send_digits, sip_refer, hangup) act
  // on: the inbound one, except while a connect.confirm script runs on the callee's leg.
  Leg& focus() { return *legs_[focus_]; }
  const Leg& focus() const { return *legs_[focus_]; }
  void set_focus(std::size_t index) { focus_ = index; }
  // The sink of a leg's events (as the leg's ports report them).
  std::shared_ptr<call::Events> leg_events(const Leg& leg);

  // Offers every event to `handler` until the returned subscription is destroyed.
  class Subscription {
   public:
    Subscription(Call& call, std::uint64_t id) : call_(&call), id_(id) {}
    Subscription(Subscription&& o) noexcept : call_(std::exchange(o.call_, nullptr)), id_(o.id_) {}
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    Subscription& operator=(Subscription&&) = delete;
    ~Subscription() {
      if (call_) call_->unsubscribe(id_);
    }

   private:
    Call* call_;
    std::uint64_t id_;
  };
  [[nodiscard]] Subscription subscribe(EventHandler handler);

  // Posts a status callback, if the step has a `status_url` and a poster exists.
  void post_callback(const std::string& url, const std::string& event_type, Value params);
  // The same as a function that may run on any thread, after the call ended (a recording
  // that finishes when the call's media closes). Null when there is nothing to post to.
  std::function<void(Value params)> detached_callback(const std::string& url,
                                                      const std::string& event_type);

  // record_call's recordings by control_id: the media's id, and where its result lands.
  struct RecordControl {
    std::uint64_t id = 0;
    std::shared_ptr<std::optional<call::RecordResult>> result;
  };
  std::map<std::string, RecordControl>& record_controls() { return record_controls_; }
  // Numbers the call's recordings (1, 2, ...): their file names.
  int next_recording_number() { return ++recordings_; }
  double now_unix() const;

  // Logging with the call's context prefix.
  template <typename... Args>
  void log(spdlog::level::level_enum lvl, fmt::format_string<Args...> f, Args&&... args) {
    if (!spdlog::default_logger_raw()->should_log(lvl)) return;
    spdlog::log(lvl, "{} {}", log_context_, fmt::format(f, std::forward<Args>(args)...));
  }

  // Counts a `transfer`/`goto`; false when the chain limit is reached.
  bool count_jump() { return ++jump_chain_ <= config_.max_jump_chain; }
  int& goto_count(const swml::Step* step) { return goto_counts_[step]; }
  // Counts a `request` step; false past EngineConfig::max_requests.
  bool count_request() { return ++requests_ <= config_.max_requests; }

 private:
  friend class LegEventSink;
  // Runs `job` on the call's expression engine, on the strand or on the expression worker
  // (see expand()); call_expressions.cpp.
  template <typename R>
  asio::awaitable<R> evaluate(std::function<R(swml::ExpressionEngine&, const swml::Scope&)> job);
  void move_expressions();
  asio::awaitable<void> run();
  asio::awaitable<Flow> run_frame();
  asio::awaitable<Flow> run_step(const swml::Step& step, std::size_t index);
  // Finds where `dest` leads: a section of the current document, a URL (fetched), or an
  // inline JSON document. Returns the document and the section to start in.
  asio::awaitable<Result<std::pair<swml::DocumentPtr, std::string>>> resolve_document(
      const std::string& dest, const Value& params);
  void finish(Flow flow);
  // Adds the failing step's position and its path in words ("[section 'x', step 2 (switch),
  // case '1', step 1 (play)]") to an error flow.
  Flow located(Flow flow) const;
  void locate(Error& e) const;
  // located() at the goto/transfer step the flow escaped from (see escaped_from_).
  Flow located_at_escape(Flow flow);

  // An event of legs_[leg] (strand): the leg takes it, then the subscribed handlers.
  void handle(std::size_t leg, call::Event event);
  void unsubscribe(std::uint64_t id);

  std::shared_ptr<const EngineConfig> config_owner_;  // may own nothing (CallRun::start)
  const EngineConfig& config_;
  CallPorts ports_;
  Strand strand_;
  std::unique_ptr<DeadlineTimer> timer_;  // deadlines of waits
  std::uint64_t wait_seq_ = 0;  // numbers the waits, so a timer wakes only its own
  Parking park_;                        // the one place the run coroutine waits
  std::function<void(CallOutcome)> done_;

  // The `call` variable, built on first use by call_value() (see CallSetup::make_call);
  // call_state_ is kept apart so that state changes need not build it.
  const Value& call_value();
  std::function<Value()> make_call_;
  Value call_;
  std::string call_id_;
  const char* call_state_ = "created";
  Value envs_;
  Value vars_;
  std::vector<Frame> frames_;
  swml::ExpressionEngine expressions_;
  bool expressions_elsewhere_ = false;  // this call's JavaScript runs on the expression worker
  bool evaluating_elsewhere_ = false;   // a job has the scope: handle() leaves `call` alone
  std::string log_context_;

  std::vector<std::unique_ptr<Leg>> legs_;
  std::size_t focus_ = 0;
  std::vector<std::pair<std::uint64_t, EventHandler>> handlers_;
  std::uint64_t next_handler_ = 0;

  std::string document_url_;   // URL route: fetched before the document starts
  std::string fallback_url_;
  bool fetch_failed_ = false;   // the last document fetch failed (for the reject code)
  int steps_run_ = 0;
  int jump_chain_ = 0;
  int requests_ = 0;
  std::map<const swml::Step*, int> goto_counts_;
  std::map<std::string, RecordControl> record_controls_;
  int recordings_ = 0;
  // The path of the goto/transfer step whose flow is still looking for its label or section.
  std::optional<std::vector<PathEntry>> escaped_from_;
};

}  // namespace swmld::engine
