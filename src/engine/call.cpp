// The interpreter core: frames, blocks, steps, waits and the call's event handlers.
// Everything here runs on the call's strand.
#include "call.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "methods/methods.hpp"
#include "swmld/core/url.hpp"
#include "swmld/swml/loader.hpp"

namespace swmld::engine {

// Reports signalling events to a call from any thread: each event is posted to the call's
// strand; events for a call that has ended are dropped.
class EventSink final : public CallEvents {
 public:
  EventSink(std::weak_ptr<Call> call, Strand strand)
      : call_(std::move(call)), strand_(std::move(strand)) {}

  void on_answered() override {
    post([](Call& c) { c.handle_answered(); });
  }
  void on_hangup(std::string reason) override {
    post([reason = std::move(reason)](Call& c) mutable { c.handle_hangup(std::move(reason)); });
  }
  void on_refer_response(int code) override {
    post([code](Call& c) { c.handle_refer_response(code); });
  }
  void on_refer_notify(int sipfrag_code, bool terminated) override {
    post([sipfrag_code, terminated](Call& c) { c.handle_refer_notify(sipfrag_code, terminated); });
  }
  void on_dtmf(char digit) override {
    post([digit](Call& c) { c.handle_dtmf(digit); });
  }

 private:
  template <typename F>
  void post(F&& f) {
    asio::post(strand_, [w = call_, f = std::forward<F>(f)]() mutable {
      if (auto c = w.lock()) f(*c);
    });
  }
  std::weak_ptr<Call> call_;
  Strand strand_;
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
  auto call = std::make_shared<Call>(std::move(executor), config, std::move(ports),
                                     std::move(setup), std::move(done));
  call->begin();
  return call;
}

Call::Call(asio::any_io_executor executor, const EngineConfig& config, CallPorts ports,
           CallSetup setup, std::function<void(CallOutcome)> done)
    : config_(config),
      ports_(std::move(ports)),
      strand_(std::move(executor)),
      timer_(config.make_timer ? config.make_timer()
                               : std::make_unique<AsioTimer>(strand_)),
      park_(strand_),
      done_(std::move(done)),
      call_(std::move(setup.call)),
      envs_(std::move(setup.envs)),
      vars_(std::move(setup.vars)),
      expressions_(config.sandbox),
      log_context_(std::move(setup.log_context)),
      document_url_(std::move(setup.document_url)),
      fallback_url_(std::move(setup.fallback_url)) {
  if (!vars_.is_object()) vars_ = Value::object();
  if (!envs_.is_object()) envs_ = Value::object();
  if (!call_.is_object()) call_ = Value::object();
  Value params = setup.params.is_object() ? std::move(setup.params) : Value::object();
  frames_.push_back(Frame{std::move(setup.document), "main", std::move(params)});
}

std::shared_ptr<CallEvents> Call::events() {
  if (!sink_) sink_ = std::make_shared<EventSink>(weak_from_this(), strand_);
  return sink_;
}

void Call::begin() {
  events();  // the sink must exist before any port can report
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
    if (!target && !fallback_url_.empty() && !hung_up_) {
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
  if (config_.ring_on_start) ports_.call->ring();
  Flow flow = co_await run_frame();
  finish(std::move(flow));
}

void Call::finish(Flow flow) {
  if (!done_) return;  // already finished
  CallOutcome outcome;
  switch (flow.kind) {
    case Flow::Kind::error: {
      Error e = flow.error.value_or(Error{});
      vars_["script_error"] = std::string(to_string(e.code));
      log(spdlog::level::err, "{}", e.str());
      outcome.end_reason = "error";
      outcome.error = std::move(e);
      if (!hung_up_ && !hangup_sent_) {
        hangup_sent_ = true;
        ports_.call->hangup(fetch_failed_ && !answered_ ? HangupReason::fetch_failed
                                                        : HangupReason::error);
      }
      break;
    }
    case Flow::Kind::end:
      outcome.end_reason = hung_up_ ? "remote_hangup" : "hangup";
      break;
    default:
      outcome.end_reason = hung_up_ ? "remote_hangup" : "end_of_document";
      if (!hung_up_ && !hangup_sent_) {
        hangup_sent_ = true;
        ports_.call->hangup(HangupReason::hangup);
      }
      break;
  }
  if (ports_.media) ports_.media->stop();
  outcome.vars = vars_;
  auto done = std::move(done_);
  done_ = nullptr;
  done(std::move(outcome));
}

void Call::end_call(HangupReason reason) {
  if (hung_up_ || hangup_sent_) return;
  hangup_sent_ = true;
  ports_.call->hangup(reason);
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
        co_return located(Flow::fail(ErrorCode::too_many_transfers,
                                     "more than " + std::to_string(config_.max_jump_chain) +
                                         " transfers/gotos in a row"));
      auto target = co_await resolve_document(flow.dest, flow.value.value_or(Value::object()));
      if (!target) co_return located(Flow::fail(target.error()));
      Frame& cur = frame();
      cur.document = target->first;
      cur.section = target->second;
      cur.params = flow.value.value_or(Value::object());
      continue;
    }
    if (flow.kind == Flow::Kind::jump)
      co_return Flow::fail(ErrorCode::method_parameter_invalid_value,
                           "goto: no label '" + flow.label + "' in section '" + f.section + "'");
    co_return flow;
  }
}

asio::awaitable<Flow> Call::run_block(const swml::Block& block) {
  std::size_t i = 0;
  while (i < block.steps.size()) {
    if (hung_up_) co_return Flow::end();
    Flow flow = co_await run_step(block.steps[i], i);
    switch (flow.kind) {
      case Flow::Kind::next:
        ++i;
        break;
      case Flow::Kind::jump:
        if (auto target = block.find_label(flow.label)) {
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
  current_step_ = &step;
  current_index_ = index;
  if (++steps_run_ > config_.max_steps)
    co_return located(Flow::fail(ErrorCode::internal_error,
                                 "step budget of " + std::to_string(config_.max_steps) +
                                     " steps per call exhausted"));
  if (step.method != "goto" && step.method != "transfer" && step.method != "label")
    jump_chain_ = 0;
  methods::MethodFn fn = methods::find(step.method);
  Flow flow;
  if (!fn) {
    flow = Flow::fail(ErrorCode::method_execute_failed,
                      "method '" + step.method + "' is not supported by swmld yet");
  } else {
    flow = co_await fn(*this, step);
  }
  current_step_ = &step;  // a nested block may have moved it
  current_index_ = index;
  if (config_.metrics) {
    thread_local std::string labels;  // reused: no allocation per step
    labels.assign("method=\"").append(step.method).append("\",outcome=\"");
    labels.append(flow.kind == Flow::Kind::error ? "error" : "ok").append("\"");
    config_.metrics->inc("swmld_steps_total", labels);
  }
  co_return located(std::move(flow));
}

Flow Call::located(Flow flow) const {
  if (flow.kind != Flow::Kind::error || !flow.error || !current_step_) return flow;
  Error& e = *flow.error;
  if (e.pos.line == 0) e.pos = current_step_->pos;
  // Name the place in words once: the innermost step that failed.
  if (e.message.find(" [section '") == std::string::npos)
    e.message += " [section '" + frame().section + "', step " +
                 std::to_string(current_index_ + 1) + " (" + current_step_->method + ")]";
  return flow;
}

asio::awaitable<Result<std::pair<swml::DocumentPtr, std::string>>> Call::resolve_document(
    const std::string& dest, const Value& params) {
  using R = Result<std::pair<swml::DocumentPtr, std::string>>;
  if (is_http_url(dest)) {
    if (!ports_.fetcher)
      co_return R(make_error(ErrorCode::method_execute_failed,
                             "cannot fetch '" + mask_credentials(dest) + "': no HTTP document fetcher"));
    Value body = {{"call", call_}, {"vars", vars_}, {"envs", envs_}, {"params", params}};
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
  if (hung_up_) co_return Flow::end();
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
    if (hung_up_) co_return false;
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

asio::awaitable<Flow> Call::ensure_answered() {
  if (answered_) co_return Flow::next();
  if (hung_up_) co_return Flow::end();
  if (!answer_sent_) {
    answer_sent_ = true;
    ports_.call->answer();
  }
  bool ok = co_await wait_until([this] { return answered_; }, config_.answer_timeout);
  if (!ok) {
    if (hung_up_) co_return Flow::end();
    co_return Flow::fail(ErrorCode::method_execute_failed,
                         "answer: no ACK for the 200 OK within " +
                             std::to_string(config_.answer_timeout.count()) + " ms");
  }
  co_return Flow::next();
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
  p["call_id"] = call_.value("call_id", "");
  p["node_id"] = config_.node_id;
  for (auto it = params.begin(); it != params.end(); ++it) p[it.key()] = it.value();
  Value body = Value::object();
  body["event_type"] = event_type;
  body["event_channel"] = "swml:" + call_.value("call_id", std::string());
  body["timestamp"] = now_unix();
  body["project_id"] = config_.project_id;
  body["space_id"] = config_.space_id;
  body["params"] = std::move(p);
  ports_.events->post_event(url, std::move(body));
}

void Call::handle_answered() {
  answered_ = true;
  wake();
}

void Call::handle_hangup(std::string reason) {
  if (hung_up_) return;
  hung_up_ = true;
  hangup_reason_ = std::move(reason);
  log(spdlog::level::debug, "far end ended the call ({})", hangup_reason_);  // "ended:" is info
  if (ports_.media) ports_.media->stop();
  wake();
}

void Call::handle_refer_response(int code) {
  if (!refer_.active || refer_.responded) return;
  refer_.responded = true;
  refer_.response_code = code;
  wake();
}

void Call::handle_refer_notify(int code, bool terminated) {
  if (!refer_.active) return;
  if (code > 0) {
    refer_.sipfrag_codes.push_back(code);
    if (code >= 200 && refer_.final_sipfrag == 0) refer_.final_sipfrag = code;
  }
  if (terminated) refer_.terminated = true;
  wake();
}

void Call::handle_dtmf(char digit) {
  // Bounded: a far end that floods digits cannot grow the buffer without limit.
  if (dtmf_.size() >= 128) dtmf_.pop_front();
  dtmf_.push_back(digit);
  wake();
}

}  // namespace swmld::engine
