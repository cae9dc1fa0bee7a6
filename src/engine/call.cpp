// The interpreter core: frames, blocks, steps, waits and the call's event handlers.
// Everything here runs on the call's strand.
#include "call.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "methods/args.hpp"
#include "methods/methods.hpp"
#include "swmld/core/url.hpp"
#include "swmld/swml/loader.hpp"

namespace swmld::engine {

// Reports the events of one leg to a call from any thread: each event is posted to the
// call's strand; events for a call that has ended are dropped.
class LegEventSink final : public call::Events {
 public:
  LegEventSink(std::weak_ptr<Call> call, Strand strand, std::size_t leg)
      : call_(std::move(call)), strand_(std::move(strand)), leg_(leg) {}

  void post(call::Event event) override {
    asio::post(strand_, [w = call_, leg = leg_, event = std::move(event)]() mutable {
      if (auto c = w.lock()) c->handle(leg, std::move(event));
    });
  }

 private:
  std::weak_ptr<Call> call_;
  Strand strand_;
  std::size_t leg_;
};

namespace {
// The default wait timer: an Asio steady_timer on the calls' io_context.
class AsioTimer final : public DeadlineTimer {
 public:
  explicit AsioTimer(const asio::any_io_executor& executor) : timer_(executor) {}
  void arm(Clock::time_point deadline, std::function<void()> fire) override {
    timer_.expires_at(deadline);  // aborts a pending wait
    timer_.async_wait([fire = std::move(fire)](const boost::system::error_code& ec) {
      if (!ec) fire();
    });
  }
  void cancel() override { timer_.cancel(); }

 private:
  asio::steady_timer timer_;
};
}  // namespace

std::shared_ptr<CallRun> CallRun::start(asio::any_io_executor executor, const EngineConfig& config,
                                        CallPorts ports, CallSetup setup,
                                        std::function<void(CallOutcome)> done) {
  // Not owned: an aliasing pointer with no control block.
  return start(std::move(executor), std::shared_ptr<const EngineConfig>(std::shared_ptr<void>(), &config),
               std::move(ports), std::move(setup), std::move(done));
}

std::shared_ptr<CallRun> CallRun::start(asio::any_io_executor executor,
                                        std::shared_ptr<const EngineConfig> config, CallPorts ports,
                                        CallSetup setup, std::function<void(CallOutcome)> done) {
  auto call = std::make_shared<Call>(std::move(executor), std::move(config), std::move(ports),
                                     std::move(setup), std::move(done));
  call->begin();
  return call;
}

Call::Call(asio::any_io_executor executor, std::shared_ptr<const EngineConfig> config_owner,
           CallPorts ports, CallSetup setup, std::function<void(CallOutcome)> done)
    : config_owner_(std::move(config_owner)),
      config_(*config_owner_),
      ports_(std::move(ports)),
      strand_(std::move(executor)),
      timer_(config_.make_timer ? config_.make_timer()
                               : std::make_unique<AsioTimer>(strand_)),
      park_(strand_),
      done_(std::move(done)),
      make_call_(std::move(setup.make_call)),
      call_id_(std::move(setup.call_id)),
      envs_(std::move(setup.envs)),
      vars_(std::move(setup.vars)),
      expressions_(config_.sandbox),
      log_context_(std::move(setup.log_context)),
      document_url_(std::move(setup.document_url)),
      fallback_url_(std::move(setup.fallback_url)) {
  if (!vars_.is_object()) vars_ = Value::object();
  if (!envs_.is_object()) envs_ = Value::object();
  Value params = setup.params.is_object() ? methods::params_as_strings(std::move(setup.params))
                                         : Value::object();
  frames_.push_back(Frame{std::move(setup.document), "main", std::move(params)});
  legs_.push_back(std::make_unique<Leg>(0, std::move(ports_.call), std::move(ports_.media), log_context_));
}

const Value& Call::call_value() {
  if (call_.is_null()) {
    if (make_call_) call_ = make_call_();
    make_call_ = nullptr;
    if (!call_.is_object()) call_ = Value::object();
    if (!call_id_.empty() && !call_.contains("call_id")) call_["call_id"] = call_id_;
    call_["call_state"] = call_state_;
  }
  return call_;
}

std::shared_ptr<call::Events> Call::leg_events(const Leg& leg) {
  return leg_events_for(leg.index());
}

std::shared_ptr<call::Events> Call::leg_events_for(std::size_t index) {
  return std::make_shared<LegEventSink>(weak_from_this(), strand_, index);
}

Leg& Call::add_leg(std::shared_ptr<call::CallControl> control,
                   std::unique_ptr<call::MediaControl> media) {
  legs_.push_back(std::make_unique<Leg>(legs_.size(), std::move(control), std::move(media),
                                        log_context_));
  return *legs_.back();
}

void Call::begin() {
  // The ports report from now on (they replay what happened before).
  Leg& leg = inbound();
  auto sink = leg_events(leg);
  leg.control().attach(sink);
  if (leg.media()) leg.media()->attach(sink);
  asio::co_spawn(strand_, [self = shared_from_this()]() { return self->run(); },
                 [self = shared_from_this()](std::exception_ptr e) {
                   if (!e) return;
                   // Nothing in the interpreter throws by design; this is the last guard.
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     self->finish(Flow::fail(ErrorCode::internal_error,
                                             std::string("internal error: ") + ex.what()));
                   }
                 });
}

asio::awaitable<void> Call::run() {
  if (!frame().document) {
    // A URL route: fetch the document before anything is sent to the caller.
    auto target = co_await resolve_document(document_url_, frame().params);
    if (!target && !fallback_url_.empty() && !hung_up()) {
      log(spdlog::level::warn, "{}; trying the fallback URL", target.error().str());
      target = co_await resolve_document(fallback_url_, frame().params);
    }
    if (!target) {
      finish(Flow::fail(target.error()));
      co_return;
    }
    frame().document = target->first;
    frame().section = target->second;
  }
  if (config_.ring_on_start) inbound().control().ring();
  Flow flow = co_await run_frame();
  finish(std::move(flow));
}

void Call::finish(Flow flow) {
  if (!done_) return;  // already finished
  focus_ = 0;  // an error in a confirm script ends the call, not only the callee's leg
  CallOutcome outcome;
  switch (flow.kind) {
    case Flow::Kind::error: {
      Error e = flow.error.value_or(Error{});
      vars_["script_error"] = std::string(to_string(e.code));
      log(spdlog::level::err, "{}", e.str());
      outcome.end_reason = "error";
      outcome.error = std::move(e);
      end_call(fetch_failed_ && !answered() ? HangupReason::fetch_failed : HangupReason::error);
      break;
    }
    case Flow::Kind::end:
      outcome.end_reason = inbound().ended_remotely() ? remote_end_reason() : "hangup";
      break;
    default:
      outcome.end_reason = inbound().ended_remotely() ? remote_end_reason() : "end_of_document";
      end_call(HangupReason::hangup);
      break;
  }
  // Outbound legs still up (a connect interrupted by an error or the caller's hangup) end
  // with the call: CANCEL while they ring, BYE once answered.
  for (std::size_t i = 1; i < legs_.size(); ++i) legs_[i]->end(480);
  for (auto& leg : legs_)
    if (leg->media()) leg->media()->close();
  outcome.vars = vars_;
  auto done = std::move(done_);
  done_ = nullptr;
  done(std::move(outcome));
}

std::string Call::remote_end_reason() {
  // The caller never acknowledged our 200 (its leg hung up for it): not a hangup of its own.
  const auto& ended = inbound().ended();
  return ended && ended->cause == call::EndCause::ack_timeout ? "ack_timeout" : "remote_hangup";
}

void Call::end_call(HangupReason reason) {
  if (reason == HangupReason::fetch_failed) {
    int code = config_.fetch_failure_code;
    inbound().end(code, code == 503 ? 5 : 0);
  } else {
    focus().end(reject_code(reason));  // in a confirm script: the callee's leg
  }
}

asio::awaitable<Flow> Call::run_frame() {
  for (;;) {
    const Frame& f = frame();
    const swml::Block* block = f.document ? f.document->section(f.section) : nullptr;
    if (!block)
      co_return Flow::fail(ErrorCode::section_parameter_undefined,
                           "no section '" + f.section + "'");
    Flow flow = co_await run_block(*block);
    if (flow.kind == Flow::Kind::transfer) {
      if (!count_jump())
        co_return located_at_escape(Flow::fail(
            ErrorCode::too_many_transfers,
            "more than " + std::to_string(config_.max_jump_chain) + " transfers/gotos in a row"));
      auto target = co_await resolve_document(flow.dest, flow.value.value_or(Value::object()));
      if (!target) co_return located_at_escape(Flow::fail(target.error()));
      escaped_from_.reset();
      Frame& cur = frame();
      cur.document = target->first;
      cur.section = target->second;
      cur.params = flow.value.value_or(Value::object());
      continue;
    }
    if (flow.kind == Flow::Kind::jump)
      co_return located_at_escape(Flow::fail(
          ErrorCode::method_parameter_invalid_value,
          "goto: no label '" + flow.label + "' in section '" + frame().section + "'"));
    co_return flow;
  }
}

asio::awaitable<Flow> Call::run_block(const swml::Block& block) {
  std::size_t i = 0;
  while (i < block.steps.size()) {
    if (hung_up()) co_return Flow::end();
    Flow flow = co_await run_step(block.steps[i], i);
    switch (flow.kind) {
      case Flow::Kind::next:
        ++i;
        break;
      case Flow::Kind::jump:
        if (auto target = block.find_label(flow.label)) {
          escaped_from_.reset();
          i = *target;
          break;
        }
        co_return flow;
      default:
        co_return flow;
    }
  }
  co_return Flow::next();
}

asio::awaitable<Flow> Call::run_step(const swml::Step& step, std::size_t index) {
  // The frame is found again by depth after the step: an `execute` inside may have grown
  // frames_ (and moved it).
  const std::size_t depth = frames_.size() - 1;
  frames_[depth].path.push_back(PathEntry{index, &step, nullptr, nullptr});
  Flow flow;
  if (++steps_run_ > config_.max_steps) {
    flow = located(Flow::fail(ErrorCode::internal_error,
                              "step budget of " + std::to_string(config_.max_steps) +
                                  " steps per call exhausted"));
    frames_[depth].path.pop_back();
    co_return flow;
  }
  if (config_.yield_every_steps > 0 && steps_run_ % config_.yield_every_steps == 0) {
    // Let the strand's other handlers (other calls' SIP events) through.
    co_await asio::post(strand_, asio::use_awaitable);
    if (hung_up()) {
      frames_[depth].path.pop_back();
      co_return Flow::end();
    }
  }
  if (step.method != "goto" && step.method != "transfer" && step.method != "label")
    jump_chain_ = 0;
  methods::MethodFn fn = methods::find(step.method);
  if (!fn) {
    flow = Flow::fail(ErrorCode::method_execute_failed,
                      "method '" + step.method + "' is not supported by swmld yet");
  } else {
    flow = co_await fn(*this, step);
  }
  if (config_.metrics) {
    thread_local std::string labels;  // reused: no allocation per step
    labels.assign("method=\"").append(step.method).append("\",outcome=\"");
    labels.append(flow.kind == Flow::Kind::error ? "error" : "ok").append("\"");
    config_.metrics->inc("swmld_steps_total", labels);
  }
  // The innermost failing step names itself first (its path is complete here); the steps
  // around it pass the error on unchanged.
  flow = located(std::move(flow));
  // A goto or transfer leaves the block; keep where it came from for an error about its
  // target (no such label or section), which is found only further out.
  if ((flow.kind == Flow::Kind::jump || flow.kind == Flow::Kind::transfer) && !escaped_from_)
    escaped_from_ = frames_[depth].path;
  frames_[depth].path.pop_back();
  co_return flow;
}

asio::awaitable<Flow> Call::run_branch(const swml::Block& block, const swml::Selector* selector,
                                       const swml::Branch* branch) {
  const std::size_t depth = frames_.size() - 1;
  frames_[depth].path.push_back(PathEntry{0, nullptr, selector, branch});
  Flow flow = co_await run_block(block);
  frames_[depth].path.pop_back();
  co_return flow;
}

namespace {
// "case '1'", "default", "when 'prompt_value == 1'", "else", "on_return".
void append_branch(std::string& out, const PathEntry& e) {
  if (!e.branch) {
    out += "on_return";
    return;
  }
  const bool is_cond = e.selector && e.selector->kind == swml::Selector::Kind::cond;
  if (e.branch->is_default) {
    out += is_cond ? "else" : "default";
    return;
  }
  constexpr std::size_t kMax = 40;
  std::string_view m = e.branch->match;
  out += is_cond ? "when '" : "case '";
  if (m.size() > kMax) {
    out.append(m.substr(0, kMax - 3)).append("...");
  } else {
    out.append(m);
  }
  out += '\'';
}
}  // namespace

void Call::locate(Error& e) const {
  const Frame& f = frame();
  const PathEntry* innermost = nullptr;
  for (const auto& p : f.path)
    if (p.step) innermost = &p;
  if (!innermost) return;
  if (e.pos.line == 0) e.pos = innermost->step->pos;
  if (e.message.find(" [section '") != std::string::npos) return;  // named already
  std::string where = " [section '" + f.section + "'";
  for (const auto& p : f.path) {
    where += ", ";
    if (p.step) {
      where += "step " + std::to_string(p.index + 1) + " (" + p.step->method + ")";
    } else {
      append_branch(where, p);
    }
  }
  where += ']';
  e.message += where;
}

Flow Call::located(Flow flow) const {
  if (flow.kind == Flow::Kind::error && flow.error) locate(*flow.error);
  return flow;
}

Flow Call::located_at_escape(Flow flow) {
  if (escaped_from_) {
    std::swap(frame().path, *escaped_from_);
    flow = located(std::move(flow));
    std::swap(frame().path, *escaped_from_);
    escaped_from_.reset();
  }
  return flow;
}

void Call::warn(Error error) {
  locate(error);
  vars_["script_error"] = std::string(to_string(error.code));
  log(spdlog::level::warn, "{} (the document goes on)", error.str());
  if (config_.metrics) {
    std::string labels = "code=\"";
    labels.append(to_string(error.code)).append("\"");
    config_.metrics->inc("swmld_script_warnings_total", labels);
  }
  if (config_.on_warning) config_.on_warning(error);
}

asio::awaitable<Result<std::pair<swml::DocumentPtr, std::string>>> Call::resolve_document(
    const std::string& dest, const Value& params) {
  using R = Result<std::pair<swml::DocumentPtr, std::string>>;
  if (is_http_url(dest)) {
    if (!ports_.fetcher)
      co_return R(make_error(ErrorCode::method_execute_failed,
                             "cannot fetch '" + mask_credentials(dest) + "': no HTTP document fetcher"));
    Value body = {{"call", call_value()}, {"vars", vars_}, {"envs", envs_}, {"params", params}};
    auto result = std::make_shared<std::optional<Result<swml::DocumentPtr>>>();
    auto handle = ports_.fetcher->fetch(dest, body, completion(result));
    co_await wait_until([&] { return result->has_value(); }, std::nullopt);
    if (!result->has_value()) {
      if (handle) handle->cancel();
      co_return R(make_error(ErrorCode::method_execute_failed,
                             "call ended while fetching " + mask_credentials(dest)));
    }
    fetch_failed_ = !**result;
    if (!**result) co_return R((*result)->error());
    co_return R(std::make_pair((*result)->value(), std::string("main")));
  }
  if (!dest.empty() && dest.front() == '{') {
    // Parsed here, on the strand: kept small, so that a document cannot make its strand (the
    // SIP thread) parse megabytes per step. Larger documents are fetched by URL (parsed on
    // the HTTP worker).
    constexpr std::size_t kMaxInline = 64 * 1024;
    if (dest.size() > kMaxInline)
      co_return R(make_error(ErrorCode::method_parameter_invalid_value,
                             "inline document of " + std::to_string(dest.size()) +
                                 " bytes is larger than the limit of " +
                                 std::to_string(kMaxInline) + " bytes"));
    swml::LoadOptions opts;
    opts.source_name = "<inline>";
    auto doc = swml::load_document(dest, opts);
    if (!doc) co_return R(doc.error());
    co_return R(std::make_pair(doc.value(), std::string("main")));
  }
  if (!frame().document || !frame().document->section(dest))
    co_return R(make_error(ErrorCode::section_parameter_undefined, "no section '" + dest + "'"));
  co_return R(std::make_pair(frame().document, dest));
}

asio::awaitable<Flow> Call::call_destination(const std::string& dest, Value params) {
  if (static_cast<int>(frames_.size()) >= config_.max_depth)
    co_return Flow::fail(ErrorCode::nested_too_deep,
                         "execute nested deeper than " + std::to_string(config_.max_depth) +
                             " frames");
  auto target = co_await resolve_document(dest, params);
  if (!target) co_return Flow::fail(target.error());
  if (hung_up()) co_return Flow::end();
  frames_.push_back(Frame{target->first, target->second, std::move(params)});
  Flow flow = co_await run_frame();
  frames_.pop_back();
  if (flow.kind == Flow::Kind::ret) {
    if (flow.value) vars_["return_value"] = std::move(*flow.value);
    co_return Flow::next();
  }
  co_return flow;
}

Clock::time_point Call::deadline_after(std::chrono::milliseconds timeout) const {
  auto scaled = std::chrono::duration_cast<Clock::duration>(timeout * config_.time_scale);
  return Clock::now() + scaled;
}

asio::awaitable<bool> Call::wait_until(const std::function<bool()>& ready,
                                       std::optional<std::chrono::milliseconds> timeout) {
  co_return co_await wait_until_at(ready,
                                   timeout ? deadline_after(*timeout) : Clock::time_point::max());
}

asio::awaitable<bool> Call::wait_until_at(const std::function<bool()>& ready,
                                          Clock::time_point deadline) {
  if (ready()) co_return true;
  const bool timed = deadline != Clock::time_point::max();
  const std::uint64_t wait = ++wait_seq_;
  if (timed) {
    // A fire that was already on its way when its wait ended must not end a later wait.
    timer_->arm(deadline, [self = weak_from_this(), strand = strand_, wait] {
      asio::post(strand, [self, wait] {
        if (auto c = self.lock(); c && c->wait_seq_ == wait) c->wake();
      });
    });
  }
  struct Disarm {
    DeadlineTimer* timer;
    ~Disarm() {
      if (timer) timer->cancel();
    }
  } disarm{timed ? timer_.get() : nullptr};
  bool waited = false;
  bool drained = false;
  while (!ready()) {
    if (hung_up()) co_return false;
    if (waited && Clock::now() >= deadline) {
      // A wake-up resumes the coroutine inside the handler that woke it, ahead of events
      // still queued: go through the queue once before declaring the timeout, so events
      // already posted (a simulated far end answers at once) are seen.
      if (drained) co_return false;
      drained = true;
      co_await asio::post(strand_, asio::use_awaitable);
      continue;
    }
    co_await park_.wait(asio::use_awaitable);
    waited = true;
  }
  co_return true;
}

void Call::wake() { park_.release(); }

std::unique_ptr<DeadlineTimer> Call::after(std::chrono::milliseconds delay,
                                           std::function<void()> fn) {
  auto timer = config_.make_timer ? config_.make_timer() : std::make_unique<AsioTimer>(strand_);
  timer->arm(deadline_after(delay), [self = weak_from_this(), strand = strand_,
                                     fn = std::move(fn)]() mutable {
    asio::post(strand, [self, fn = std::move(fn)] {
      if (auto c = self.lock(); c && c->done_) fn();
    });
  });
  return timer;
}

asio::awaitable<Flow> Call::ensure_answered() {
  Leg& leg = focus();
  if (leg.answered()) co_return Flow::next();
  if (leg.gone()) co_return Flow::end();
  if (!leg.answer_sent()) {
    Status s = leg.answer();
    if (!s) co_return Flow::fail(ErrorCode::method_execute_failed, "answer: " + s.error().message);
  }
  bool ok = co_await wait_until([&leg] { return leg.answered(); }, config_.answer_timeout);
  if (!ok) {
    if (leg.gone()) co_return Flow::end();
    co_return Flow::fail(ErrorCode::method_execute_failed,
                         "answer: no ACK for the 200 OK within " +
                             std::to_string(config_.answer_timeout.count()) + " ms");
  }
  co_return Flow::next();
}

Flow Call::ensure_early_media() {
  Status s = focus().early_media();
  if (!s) return Flow::fail(ErrorCode::method_execute_failed, "early media: " + s.error().message);
  return Flow::next();
}

double Call::now_unix() const {
  if (config_.wall_clock) return config_.wall_clock();
  using namespace std::chrono;
  return static_cast<double>(duration_cast<microseconds>(system_clock::now().time_since_epoch())
                                 .count()) / 1e6;
}

void Call::post_callback(const std::string& url, const std::string& event_type, Value params) {
  if (url.empty()) return;
  if (!ports_.events) {
    log(spdlog::level::warn, "{} callback to {} dropped: no event poster", event_type, url);
    return;
  }
  Value p = Value::object();
  p["call_id"] = call_id_;
  p["node_id"] = config_.node_id;
  for (auto it = params.begin(); it != params.end(); ++it) p[it.key()] = it.value();
  Value body = Value::object();
  body["event_type"] = event_type;
  body["event_channel"] = "swml:" + call_id_;
  body["timestamp"] = now_unix();
  body["project_id"] = config_.project_id;
  body["space_id"] = config_.space_id;
  body["params"] = std::move(p);
  ports_.events->post_event(url, std::move(body));
}

std::function<void(Value)> Call::detached_callback(const std::string& url,
                                                   const std::string& event_type) {
  if (url.empty() || !ports_.events) return nullptr;
  return [events = ports_.events, url, event_type, call_id = call_id_, node_id = config_.node_id,
          project_id = config_.project_id, space_id = config_.space_id,
          clock = config_.wall_clock](Value params) {
    Value p = Value::object();
    p["call_id"] = call_id;
    p["node_id"] = node_id;
    for (auto it = params.begin(); it != params.end(); ++it) p[it.key()] = it.value();
    using namespace std::chrono;
    Value body = Value::object();  // as post_callback() builds it
    body["event_type"] = event_type;
    body["event_channel"] = "swml:" + call_id;
    body["timestamp"] =
        clock ? clock()
              : static_cast<double>(
                    duration_cast<microseconds>(system_clock::now().time_since_epoch()).count()) /
                    1e6;
    body["project_id"] = project_id;
    body["space_id"] = space_id;
    body["params"] = std::move(p);
    events->post_event(url, std::move(body));
  };
}

void Call::handle(std::size_t index, call::Event event) {
  if (index >= legs_.size()) return;
  Leg& leg = *legs_[index];
  if (!leg.apply(event)) return;
  if (index == 0) {
    // call.call_state follows the inbound leg (the execute page's payload after `answer`
    // says "answered"); what a fetched document or an expression reads is current.
    if (std::holds_alternative<call::Answered>(event)) {
      call_state_ = "answered";
    } else if (std::holds_alternative<call::Ended>(event)) {
      call_state_ = "ended";
    }
    // Not while the expression worker reads `call`: the job's completion writes it.
    if (!call_.is_null() && !evaluating_elsewhere_) call_["call_state"] = call_state_;
  }
  if (const auto* ended = std::get_if<call::Ended>(&event)) {
    if (ended->cause != call::EndCause::local)  // "ended:" is the info line of the call
      log(spdlog::level::debug, "far end ended leg {} ({})", index, call::to_string(ended->cause));
  }
  // Handlers only record what they need; the step they belong to acts when wake() resumes it.
  for (auto& [id, handler] : handlers_) handler(leg, event);
  wake();
}

Call::Subscription Call::subscribe(EventHandler handler) {
  std::uint64_t id = ++next_handler_;
  handlers_.emplace_back(id, std::move(handler));
  return Subscription(*this, id);
}

void Call::unsubscribe(std::uint64_t id) {
  for (auto it = handlers_.begin(); it != handlers_.end(); ++it)
    if (it->first == id) {
      handlers_.erase(it);
      return;
    }
}

}  // namespace swmld::engine
