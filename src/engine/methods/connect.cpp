// `connect`: dial outbound legs (one `to`, `serial`, `parallel` or `serial_parallel`), play
// ringback to the caller while they ring, run `confirm` on the leg that answers, bridge the
// caller's media to it and wait until either side hangs up (or max_duration). Sets
// connect_result, connect_failed_reason and return_value, posts calling.call.state (per leg,
// call_state_url) and calling.call.connect (status_url) callbacks, logs one
// `connect_result` record naming every destination tried and how it ended.
//
// After the bridge: `transfer_after_bridge` runs when given; otherwise `result` (if any),
// then the next step while the caller is still up (docs/swml-coverage.md, "connect").
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "args.hpp"
#include "media_args.hpp"
#include "methods.hpp"
#include "swmld/core/ids.hpp"
#include "swmld/core/log.hpp"

namespace swmld::engine::methods {
namespace {

using std::chrono::milliseconds;

constexpr double kDefaultTimeoutS = 60;         // swml-reference §9.17
constexpr double kDefaultMaxDurationS = 14400;  // 4 hours
const char* const kDefaultRingback = "ring:us";

// One destination with the connect-level properties it inherits.
struct Destination {
  std::string path;  // "connect", "connect.serial[1]", "connect.serial_parallel[0][1]"
  Value props;       // expanded: the destination's own properties over the connect's
  std::string to;
};

// What happened to one destination, for the variables, callbacks and the log record.
struct Attempt {
  Destination dest;
  std::size_t leg = 0;         // 0: no leg (refused before dialling)
  std::string leg_call_id;     // the outbound leg's call_id in callbacks
  Clock::time_point started{};
  Clock::time_point deadline = Clock::time_point::max();
  bool ringing = false;
  bool early_media = false;    // the callee sent SDP in a provisional response
  bool sdp_before_answer = false;
  bool timed_out = false;      // we cancelled it after `timeout`
  std::string reason;          // why it ended: busy, no_answer, declined, denied, lost
                               // (cancelled: another leg answered first), ...
  int sip_code = 0;
  std::string detail;          // refused: the rule or limit
  bool done() const { return !reason.empty(); }
};

// What a rejected INVITE's status means for connect_failed_reason (docs/swml-coverage.md).
std::string reason_for(const call::Ended& e, bool timed_out) {
  if (timed_out) return "no_answer";
  switch (e.cause) {
    case call::EndCause::rejected:
      if (e.sip_code == 486 || e.sip_code == 600) return "busy";
      if (e.sip_code == 603 || e.sip_code == 607 || e.sip_code == 608) return "declined";
      if (e.sip_code == 408 || e.sip_code == 480 || e.sip_code == 487) return "no_answer";
      return "error";
    case call::EndCause::failure:
      return e.sip_code == 408 ? "no_answer" : "error";
    case call::EndCause::remote_hangup:
      return "hangup";
    case call::EndCause::shutdown:
      return "error";
    default:
      return "error";
  }
}

// The destinations' groups: each inner list is dialled in parallel, the groups in turn.
std::vector<std::vector<Destination>> destinations(const Value& args) {
  // Connect-level properties a destination inherits (not the dialling modes).
  Value common = Value::object();
  for (auto it = args.begin(); it != args.end(); ++it)
    if (it.key() != "serial" && it.key() != "parallel" && it.key() != "serial_parallel" &&
        it.key() != "result" && it.key() != "transfer_after_bridge")
      common[it.key()] = it.value();
  auto make = [&](const Value& d, std::string path) {
    Destination out;
    out.path = std::move(path);
    out.props = common;
    if (d.is_object()) {
      for (auto it = d.begin(); it != d.end(); ++it) out.props[it.key()] = it.value();
    } else {
      out.props["to"] = d;
    }
    out.to = to_text(out.props.value("to", Value()));
    return out;
  };
  std::vector<std::vector<Destination>> groups;
  if (args.contains("serial_parallel") && args["serial_parallel"].is_array()) {
    const Value& outer = args["serial_parallel"];
    for (std::size_t i = 0; i < outer.size(); ++i) {
      std::vector<Destination> group;
      if (!outer[i].is_array()) continue;
      for (std::size_t j = 0; j < outer[i].size(); ++j)
        group.push_back(make(outer[i][j], "connect.serial_parallel[" + std::to_string(i) + "][" +
                                              std::to_string(j) + "]"));
      if (!group.empty()) groups.push_back(std::move(group));
    }
  } else if (args.contains("parallel") && args["parallel"].is_array()) {
    std::vector<Destination> group;
    const Value& list = args["parallel"];
    for (std::size_t i = 0; i < list.size(); ++i)
      group.push_back(make(list[i], "connect.parallel[" + std::to_string(i) + "]"));
    if (!group.empty()) groups.push_back(std::move(group));
  } else if (args.contains("serial") && args["serial"].is_array()) {
    const Value& list = args["serial"];
    for (std::size_t i = 0; i < list.size(); ++i)
      groups.push_back({make(list[i], "connect.serial[" + std::to_string(i) + "]")});
  } else if (args.contains("to")) {
    groups.push_back({make(args["to"], "connect")});
  }
  return groups;
}

// `headers: [{name, value}]` (also accepted: an object name -> value).
std::vector<std::pair<std::string, std::string>> headers_of(const Value& v) {
  std::vector<std::pair<std::string, std::string>> out;
  if (v.is_array()) {
    for (const auto& h : v)
      if (h.is_object() && h.contains("name"))
        out.emplace_back(to_text(h["name"]), to_text(h.value("value", Value(""))));
  } else if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) out.emplace_back(it.key(), to_text(it.value()));
  }
  return out;
}

// The caller's number or URI, the default From of outbound legs.
std::string caller_of(Call& c) {
  const Value& call = c.call_info();
  std::string from = get_string(call, "from");
  return from;
}

bool is_phone(const std::string& to) {
  return !to.empty() && to.find(':') == std::string::npos &&
         std::all_of(to.begin() + (to[0] == '+' ? 1 : 0), to.end(),
                     [](char ch) { return ch >= '0' && ch <= '9'; });
}

class Connect {
 public:
  Connect(Call& c, const swml::Step& step, Value args)
      : c_(c), step_(step), args_(std::move(args)), started_(Clock::now()) {}

  asio::awaitable<Flow> run();

 private:
  asio::awaitable<Flow> prepare_caller();
  void dial(Attempt& a);
  void end_attempt(Attempt& a, std::string reason);
  void on_event(Leg& leg, const call::Event& event);
  Attempt* attempt_of(std::size_t leg);
  void state_callback(const Attempt& a, const char* state);
  void connect_callback(const char* state, const Attempt* peer, const std::string& reason);
  void ringback(bool on);
  asio::awaitable<void> stop_ringback();
  asio::awaitable<bool> confirm(Attempt& a);
  asio::awaitable<bool> bridge(Attempt& a);
  void finish_failed(const std::string& reason);
  void record(const std::string& result, const std::string& reason);

  Call& c_;
  const swml::Step& step_;
  Value args_;
  Clock::time_point started_;
  std::string status_url_;
  std::vector<Attempt> attempts_;
  std::uint64_t events_ = 0;  // counts the legs' events: a change to look at
  // Ringback: what plays to the caller while the callee rings.
  std::optional<call::PlayRequest> ringback_;
  std::shared_ptr<std::optional<std::string>> ringback_done_;
  bool ringback_on_ = false;
  Clock::time_point ringback_started_{};
  std::size_t early_bridged_ = 0;  // the leg whose early media the caller hears; 0: none
  bool caller_answered_first_ = true;
};

Attempt* Connect::attempt_of(std::size_t leg) {
  for (auto& a : attempts_)
    if (a.leg == leg) return &a;
  return nullptr;
}

void Connect::on_event(Leg& leg, const call::Event& event) {
  ++events_;
  Attempt* a = attempt_of(leg.index());
  if (!a) return;
  if (std::holds_alternative<call::Ringing>(event)) {
    if (!a->ringing) state_callback(*a, "ringing");
    a->ringing = true;
    // SDP then a 183: early media. (The SDP of the 2xx comes just before Answered.)
    if (a->sdp_before_answer) a->early_media = true;
  } else if (const auto* sdp = std::get_if<call::RemoteSdp>(&event)) {
    if (sdp->kind == call::RemoteSdp::Kind::answer && !leg.answered()) a->sdp_before_answer = true;
  } else if (std::holds_alternative<call::Answered>(event)) {
    state_callback(*a, "answered");
  }
}

void Connect::state_callback(const Attempt& a, const char* state) {
  std::string url = get_string(a.dest.props, "call_state_url");
  if (url.empty()) return;
  std::vector<std::string> wanted = get_strings(a.dest.props, "call_state_events");
  if (wanted.empty()) wanted = {"ended"};
  if (std::find(wanted.begin(), wanted.end(), state) == wanted.end()) return;
  Value device_params = {{"from_number", get_string(a.dest.props, "from", caller_of(c_))},
                         {"to_number", a.dest.to}};
  Value p = {{"call_id", a.leg_call_id},
             {"call_state", state},
             {"direction", "outbound"},
             {"device", {{"type", is_phone(a.dest.to) ? "phone" : "sip"},
                         {"params", std::move(device_params)}}},
             {"parent", {{"call_id", c_.call_info().value("call_id", Value(""))},
                         {"node_id", c_.config().node_id}}}};
  if (std::string_view(state) == "ended") {
    std::string r = a.reason;
    // calling.call.state's end_reason vocabulary (swml-reference §9.17).
    if (r == "lost") r = "cancel";
    else if (r != "hangup" && r != "busy" && r != "no_answer" && r != "cancel" && r != "declined")
      r = "error";
    p["end_reason"] = r;
  }
  c_.post_callback(url, "calling.call.state", std::move(p));
}

void Connect::connect_callback(const char* state, const Attempt* peer, const std::string& reason) {
  if (status_url_.empty()) return;
  Value p = {{"connect_state", state}};
  if (!reason.empty()) p["failed_reason"] = reason;
  if (peer) {
    p["peer"] = {{"call_id", peer->leg_call_id},
                 {"node_id", c_.config().node_id},
                 {"device", {{"type", is_phone(peer->dest.to) ? "phone" : "sip"},
                             {"params", {{"to_number", peer->dest.to}}}}}};
  }
  c_.post_callback(status_url_, "calling.call.connect", std::move(p));
}

void Connect::dial(Attempt& a) {
  a.started = Clock::now();
  a.leg_call_id = c_.config().new_id ? c_.config().new_id() : new_uuid();
  const Value& p = a.dest.props;
  auto& ports = c_.ports();
  if (!ports.dialer || !ports.open_media) {
    a.reason = "error";
    a.detail = "this server cannot dial out";
    return;
  }
  auto timeout = get_number(p, "timeout", kDefaultTimeoutS, "connect");
  double timeout_s = timeout ? *timeout : kDefaultTimeoutS;
  if (timeout_s <= 0) timeout_s = kDefaultTimeoutS;
  a.deadline = c_.deadline_after(milliseconds(static_cast<long long>(timeout_s * 1000)));

  auto media = ports.open_media();
  if (!media) {
    a.reason = "error";
    a.detail = media.error().message;
    return;
  }
  auto offer = (*media)->local_sdp();
  if (!offer) {
    a.reason = "error";
    a.detail = offer.error().message;
    return;
  }
  call::DialRequest req;
  req.to = a.dest.to;
  req.from = get_string(p, "from");  // empty: the dialer's (gateway number, else the caller's)
  req.from_name = get_string(p, "from_name");
  req.headers = headers_of(p.value("headers", Value()));
  req.local_sdp = std::move(*offer);
  req.username = get_string(p, "username");
  req.password = get_string(p, "password");
  auto session = get_number(p, "session_timeout", 0, "connect");
  req.session_timeout_s = session ? static_cast<int>(*session) : 0;
  req.call_id = a.leg_call_id;
  req.log_context = c_.log_context();
  const std::size_t index = c_.leg_count();
  call::Dialed dialed = ports.dialer->dial(std::move(req), c_.leg_events_for(index));
  if (!dialed.leg) {
    (*media)->close();
    a.reason = dialed.refused.empty() ? "error" : dialed.refused;
    a.detail = dialed.detail;
    return;
  }
  Leg& leg = c_.add_leg(std::move(dialed.leg), std::move(*media));
  auto sink = c_.leg_events(leg);
  if (leg.media()) leg.media()->attach(sink);
  a.leg = leg.index();
  state_callback(a, "created");
}

void Connect::end_attempt(Attempt& a, std::string reason) {
  if (a.leg) {
    Leg& leg = c_.leg(a.leg);
    if (!leg.gone()) leg.end(487);
  }
  if (a.reason.empty()) a.reason = std::move(reason);
}

void Connect::ringback(bool on) {
  call::MediaControl* media = c_.inbound().media();
  if (!ringback_ || !media) return;
  if (on && !ringback_on_) {
    ringback_on_ = true;
    ringback_started_ = Clock::now();
    ringback_done_ = std::make_shared<std::optional<std::string>>();
    media->play(*ringback_, c_.completion(ringback_done_));
  } else if (!on && ringback_on_) {
    media->stop();
  }
}

asio::awaitable<void> Connect::stop_ringback() {
  if (!ringback_on_) co_return;
  ringback(false);
  auto done = ringback_done_;
  // Named: GCC 12 destroys temporaries inside a co_await expression twice.
  const std::function<bool()> stopped = [done] { return done->has_value(); };
  co_await c_.wait_until(stopped, std::chrono::seconds(2));
  ringback_on_ = false;
}

// Answers the caller before dialling, or, with answer_on_bridge, lets it ring (180) or hear
// ringback as early media (183).
asio::awaitable<Flow> Connect::prepare_caller() {
  auto aob = get_bool(args_, "answer_on_bridge", false, "connect");
  if (!aob) co_return Flow::fail(aob.error());
  caller_answered_first_ = !*aob;
  // Ringback: the given sounds, or a ring tone when the caller hears nothing else.
  if (args_.contains("ringback")) {
    auto req = play_request(c_, args_, "ringback", "ringback", "connect");
    if (!req) co_return Flow::fail(req.error());
    if (!req->urls.empty()) ringback_ = std::move(*req);
  } else {
    call::PlayRequest req;
    req.urls = {kDefaultRingback};
    ringback_ = std::move(req);
  }
  if (caller_answered_first_) co_return co_await c_.ensure_answered();
  if (args_.contains("ringback")) co_return c_.ensure_early_media();  // 183: hear the sounds
  ringback_.reset();  // 180 (sent at start): the caller's phone rings by itself
  co_return Flow::next();
}

// Runs the destination's confirm script on its leg; true when the leg is still up after it.
asio::awaitable<bool> Connect::confirm(Attempt& a) {
  const Value& p = a.dest.props;
  if (!p.contains("confirm") || p["confirm"].is_null()) co_return true;
  Leg& leg = c_.leg(a.leg);
  // confirm_timeout (default: the destination's timeout) bounds the whole script: when it
  // passes, the callee's leg is hung up, which ends the script's waits.
  auto timeout = get_number(p, "timeout", kDefaultTimeoutS, "connect");
  auto ct = get_number(p, "confirm_timeout", timeout ? *timeout : kDefaultTimeoutS, "connect");
  double confirm_s = ct && *ct > 0 ? *ct : kDefaultTimeoutS;
  auto expired = std::make_shared<bool>(false);
  auto timer = c_.after(milliseconds(static_cast<long long>(confirm_s * 1000)),
                        [call = &c_, index = a.leg, expired] {
                          *expired = true;
                          if (!call->leg(index).gone()) call->leg(index).end(487);
                          call->wake();
                        });
  c_.set_focus(a.leg);
  Flow flow;
  // Inline steps (`confirm: true` in the expanded arguments) are the destination's own, or
  // the connect's that it inherited; a string is a URL.
  const swml::Block* block = nullptr;
  if (p["confirm"].is_boolean()) {
    block = step_.block(a.dest.path + ".confirm");
    if (!block) block = step_.block("connect.confirm");
  }
  if (block) {
    flow = co_await c_.run_block(*block);
  } else {
    const std::string url = to_text(p["confirm"]);
    Value params = Value::object();
    flow = co_await c_.call_destination(url, std::move(params));
  }
  c_.set_focus(0);
  timer->cancel();
  if (flow.kind == Flow::Kind::error && flow.error) {
    c_.warn(Error{flow.error->code, "connect.confirm: " + flow.error->message, {}});
    if (!leg.gone()) leg.end(487);
  }
  if (*expired) a.detail = "confirm_timeout";
  // A hangup in the script ends the callee's leg (its Ended may still be on its way).
  co_return flow.kind == Flow::Kind::next && !leg.gone() && !leg.end_sent() &&
      !c_.inbound().gone();
}

asio::awaitable<bool> Connect::bridge(Attempt& a) {
  Leg& leg = c_.leg(a.leg);
  if (early_bridged_ && early_bridged_ != a.leg) {
    if (auto* m = c_.inbound().media()) m->unbridge();
    early_bridged_ = 0;
  }
  co_await stop_ringback();
  if (!c_.inbound().answered()) {
    Flow f = co_await c_.ensure_answered();
    if (f.kind != Flow::Kind::next) co_return false;
  }
  call::MediaControl* in = c_.inbound().media();
  call::MediaControl* out = leg.media();
  if (!in || !out) co_return false;
  if (early_bridged_ != a.leg) {
    Status s = in->bridge(*out);
    if (!s) {
      c_.log(spdlog::level::warn, "connect: cannot bridge to {}: {}", a.dest.to, s.error().message);
      a.detail = s.error().message;
      co_return false;
    }
  }
  early_bridged_ = a.leg;
  co_return true;
}

void Connect::record(const std::string& result, const std::string& reason) {
  auto level = result == "connected" ? spdlog::level::info : spdlog::level::warn;
  if (c_.config().metrics)
    c_.config().metrics->inc("swmld_connect_results_total",
                             "result=\"" + result + "\",reason=\"" + reason + "\"");
  if (!spdlog::default_logger_raw()->should_log(level)) return;
  Value tried = Value::array();
  for (const auto& a : attempts_) {
    Value d = {{"to", a.dest.to}, {"result", a.reason.empty() ? "connected" : a.reason}};
    if (a.sip_code) d["sip_code"] = a.sip_code;
    if (!a.detail.empty()) d["detail"] = a.detail;
    d["ms"] = std::chrono::duration_cast<milliseconds>(
                  (a.started == Clock::time_point{} ? started_ : a.started) - started_)
                  .count();
    tried.push_back(std::move(d));
  }
  Value fields = {{"result", result},
                  {"destinations", std::move(tried)},
                  {"duration_ms",
                   std::chrono::duration_cast<milliseconds>(Clock::now() - started_).count()}};
  if (!reason.empty()) fields["reason"] = reason;
  log::event(level, "connect_result", c_.log_context(), fields);
}

asio::awaitable<Flow> Connect::run() {
  status_url_ = get_string(args_, "status_url");
  auto groups = destinations(args_);
  if (groups.empty())
    co_return Flow::fail(ErrorCode::method_parameter_missing, "connect: no destination to dial");
  {
    Flow f = co_await prepare_caller();
    if (f.kind != Flow::Kind::next) co_return f;
  }
  auto subscription = c_.subscribe([this](Leg& leg, const call::Event& e) { on_event(leg, e); });
  connect_callback("connecting", nullptr, "");

  Attempt* winner = nullptr;
  std::string last_reason = "error";
  for (auto& group : groups) {
    std::size_t first = attempts_.size();
    for (auto& d : group) {
      Attempt a;
      a.dest = std::move(d);
      attempts_.push_back(std::move(a));
    }
    for (std::size_t i = first; i < attempts_.size(); ++i) {
      dial(attempts_[i]);
      if (attempts_[i].done()) {
        last_reason = attempts_[i].reason;
        c_.log(spdlog::level::warn, "connect: {} not dialled: {} ({})", attempts_[i].dest.to,
               attempts_[i].reason, attempts_[i].detail);
      }
    }
    // Timeouts count once the legs' first events were taken (in simulated time every
    // deadline has passed at once; the scripted answers come first).
    bool waited = false;
    bool drained = false;  // went through the strand's queue once since a deadline passed
    while (!winner) {
      if (c_.inbound().gone()) break;
      // Before a leg times out, the events already queued for it are taken (a simulated far
      // end answers at once; in real time an answer racing the deadline wins).
      if (waited && !drained) {
        const auto now = Clock::now();
        bool expired = false;
        for (std::size_t i = first; i < attempts_.size(); ++i)
          expired = expired || (!attempts_[i].done() && !attempts_[i].timed_out &&
                                now >= attempts_[i].deadline);
        if (expired) {
          drained = true;
          co_await asio::post(c_.strand(), asio::use_awaitable);
          continue;
        }
      }
      // Legs that ended, and legs whose time ran out.
      bool open = false;
      Clock::time_point next = Clock::time_point::max();
      const auto now = Clock::now();
      for (std::size_t i = first; i < attempts_.size(); ++i) {
        Attempt& a = attempts_[i];
        if (a.done()) continue;
        Leg& leg = c_.leg(a.leg);
        if (leg.gone()) {
          a.sip_code = leg.ended()->sip_code;
          a.reason = reason_for(*leg.ended(), a.timed_out);
          last_reason = a.reason;
          state_callback(a, "ended");
          if (early_bridged_ == a.leg) {
            if (auto* m = c_.inbound().media()) m->unbridge();
            early_bridged_ = 0;
          }
          continue;
        }
        if (leg.answered()) {
          winner = &a;
          break;
        }
        if (drained && now >= a.deadline && !a.timed_out) {
          a.timed_out = true;
          leg.end(487);  // CANCEL; its Ended comes back as no_answer
        }
        open = true;
        if (!a.timed_out) next = std::min(next, a.deadline);  // else: wait for its Ended
      }
      if (winner || !open) break;
      // The callee's early media replaces the ringback: the caller hears the callee's tones.
      if (!early_bridged_) {
        for (std::size_t i = first; i < attempts_.size(); ++i) {
          Attempt& a = attempts_[i];
          if (a.done() || !a.early_media) continue;  // (set with its 183: it rings)
          co_await stop_ringback();
          if (!c_.inbound().answered()) {
            Flow f = c_.ensure_early_media();
            if (f.kind != Flow::Kind::next) break;
          }
          call::MediaControl* in = c_.inbound().media();
          call::MediaControl* out = c_.leg(a.leg).media();
          if (in && out && in->bridge(*out)) early_bridged_ = a.leg;
          break;
        }
      }
      if (!early_bridged_) {
        if (ringback_on_ && ringback_done_ && ringback_done_->has_value()) {
          ringback_on_ = false;
          if (!ringback_done_->value().empty()) {  // a sound failed: no replay loop
            c_.warn(Error{ErrorCode::method_execute_failed,
                          "connect: ringback: " + ringback_done_->value(), {}});
            ringback_.reset();
          } else if (Clock::now() - ringback_started_ < std::chrono::seconds(1)) {
            ringback_.reset();  // sounds shorter than a second play once, not in a busy loop
          }
        }
        ringback(true);  // (again, when the sounds have played to their end)
      }
      const std::uint64_t seen = events_;
      auto rb = ringback_done_;
      const std::function<bool()> changed = [&, seen, rb] {
        return events_ != seen || (ringback_on_ && rb && rb->has_value());
      };
      co_await c_.wait_until_at(changed, next);
      waited = true;
      drained = false;
    }
    if (winner) {
      // First answer wins: the others are cancelled.
      for (std::size_t i = first; i < attempts_.size(); ++i)
        if (&attempts_[i] != winner && !attempts_[i].done()) {
          end_attempt(attempts_[i], "lost");
          state_callback(attempts_[i], "ended");
        }
      if (!co_await confirm(*winner)) {
        winner->reason = winner->detail == "confirm_timeout" ? "no_answer" : "declined";
        if (winner->detail.empty()) winner->detail = "confirm refused";
        end_attempt(*winner, winner->reason);
        state_callback(*winner, "ended");
        last_reason = winner->reason;
        winner = nullptr;
        if (c_.inbound().gone()) break;
        continue;
      }
      if (!co_await bridge(*winner)) {
        end_attempt(*winner, "error");
        state_callback(*winner, "ended");
        last_reason = "error";
        winner = nullptr;
        if (c_.inbound().gone()) break;
        continue;
      }
      break;
    }
    if (c_.inbound().gone()) break;
  }

  if (!winner) {
    co_await stop_ringback();
    for (auto& a : attempts_)
      if (!a.done()) {
        end_attempt(a, "cancel");
        state_callback(a, "ended");
      }
    if (c_.inbound().gone()) {
      last_reason = "cancel";
      record("failed", last_reason);
      connect_callback("failed", nullptr, last_reason);
      co_return Flow::end();
    }
    finish_failed(last_reason);
    if (step_.selector) co_return co_await run_result(c_, *step_.selector, "connect.result");
    co_return Flow::next();
  }

  // Bridged: until either side hangs up or max_duration passes.
  Value& vars = c_.vars();
  vars["connect_result"] = "connected";
  vars["connect_failed_reason"] = "";
  vars["return_value"] = "connected";
  connect_callback("connected", winner, "");
  record("connected", "");
  Leg& peer = c_.leg(winner->leg);
  auto max = get_number(args_, "max_duration", kDefaultMaxDurationS, "connect");
  double max_s = max && *max > 0 ? *max : kDefaultMaxDurationS;
  const std::function<bool()> peer_gone = [&] { return peer.gone(); };
  co_await c_.wait_until(peer_gone, milliseconds(static_cast<long long>(max_s * 1000)));
  if (auto* m = c_.inbound().media()) m->unbridge();
  winner->reason = peer.gone() ? "hangup" : "max_duration";
  if (!peer.gone()) peer.end(487);
  if (peer.ended()) winner->sip_code = peer.ended()->sip_code;
  state_callback(*winner, "ended");
  connect_callback("disconnected", winner, "");
  if (c_.inbound().gone()) co_return Flow::end();

  std::string after = get_string(args_, "transfer_after_bridge");
  if (!after.empty()) co_return Flow::transfer(after, Value::object());
  if (step_.selector) co_return co_await run_result(c_, *step_.selector, "connect.result");
  co_return Flow::next();
}

void Connect::finish_failed(const std::string& reason) {
  Value& vars = c_.vars();
  vars["connect_result"] = "failed";
  vars["connect_failed_reason"] = reason;
  vars["return_value"] = "failed";
  connect_callback("failed", nullptr, reason);
  record("failed", reason);
}

}  // namespace

asio::awaitable<Flow> connect(Call& c, const swml::Step& step) {
  // Without the step lists (confirm, result): their `${...}` expand when they run.
  auto args = co_await c.expand(step.own_args.is_null() ? step.args : step.own_args);
  if (!args) co_return Flow::fail(args.error());
  // Inline confirm steps are kept as they are (they expand when they run).
  Connect run(c, step, std::move(*args));
  co_return co_await run.run();
}

}  // namespace swmld::engine::methods
