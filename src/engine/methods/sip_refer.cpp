// `sip_refer`: REFER the far end to `to_uri` and follow the implicit subscription's NOTIFY
// sipfrags to the transfer's real outcome (design.md §6). Sets sip_refer_to,
// sip_refer_response_code, sip_refer_to_response_code, sip_refer_result and return_value,
// posts calling.call.refer callbacks, and logs one `refer_result` record.
#include <algorithm>
#include <cctype>
#include <string_view>
#include <variant>
#include <vector>

#include "args.hpp"
#include "methods.hpp"
#include "swmld/core/log.hpp"

namespace swmld::engine::methods {
namespace {

// Case-insensitive "does `s` start with `prefix`" (prefix in lower case).
bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// A host[:port] of a sip:/sips: URI up to its ";params" or "?headers".
bool valid_hostport(std::string_view s) {
  std::string_view host = s.substr(0, s.find_first_of(";?"));
  if (host.empty()) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '[' ||
           c == ']' || c == ':';
  });
}

bool tel_char(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) || c == '*' || c == '#' ||
         (std::tolower(static_cast<unsigned char>(c)) >= 'a' &&
          std::tolower(static_cast<unsigned char>(c)) <= 'd');
}

// sip:/sips: with a host part (an optional user@ before it), or tel: with a number; no
// white space or angle brackets anywhere. Hand-written: this runs once per REFER.
bool valid_refer_target(std::string_view uri) {
  if (std::any_of(uri.begin(), uri.end(), [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) || c == '<' || c == '>';
      }))
    return false;
  if (starts_with_nocase(uri, "sip:") || starts_with_nocase(uri, "sips:")) {
    std::string_view rest = uri.substr(uri.find(':') + 1);
    auto at = rest.find('@');
    return valid_hostport(rest) || (at != std::string_view::npos && at > 0 &&
                                    valid_hostport(rest.substr(at + 1)));
  }
  if (starts_with_nocase(uri, "tel:")) {
    std::string_view number = uri.substr(4);
    number = number.substr(0, number.find(';'));
    if (!number.empty() && number.front() == '+') number.remove_prefix(1);
    if (number.empty() || !tel_char(number.front())) return false;
    return std::all_of(number.begin() + 1, number.end(), [](char c) {
      return tel_char(c) || c == '-' || c == '.' || c == '(' || c == ')';
    });
  }
  return false;
}

std::string code_text(int code) { return code > 0 ? std::to_string(code) : std::string(); }

// Provisional sipfrag statuses kept per REFER (the record's `sipfrags`, the progress
// callbacks): a far end that NOTIFYs without end (a flood, 180 and 183 in turn) costs no
// more than this. The final status is always kept.
constexpr std::size_t kMaxProvisionalSipfrags = 16;

// What the leg told us about this step's REFER.
struct ReferProgress {
  bool active = false;              // the REFER was sent: its events count
  bool responded = false;           // the leg reported the REFER's final response
  int response_code = 0;            // final response to the REFER; 0: it could not be sent
  // The sipfrag statuses seen, in order: a status repeated in a row counts once (each
  // entry is a state change: a progress callback), at most kMaxProvisionalSipfrags
  // provisional ones, then the final one.
  std::vector<int> sipfrag_codes;
  int final_sipfrag = 0;            // first sipfrag >= 200; 0 while none
  bool terminated = false;          // a NOTIFY said Subscription-State: terminated
  std::size_t notifies = 0;         // NOTIFYs of this REFER, repeats included

  void on_event(const call::Event& event) {
    if (!active) return;
    if (const auto* r = std::get_if<call::ReferResponse>(&event)) {
      if (responded) return;
      responded = true;
      response_code = r->code;
    } else if (const auto* n = std::get_if<call::ReferNotify>(&event)) {
      ++notifies;
      if (n->sipfrag_code > 0 && final_sipfrag == 0) record(n->sipfrag_code);
      if (n->terminated) terminated = true;
    }
  }

 private:
  void record(int code) {
    if (code >= 200) {
      final_sipfrag = code;
      sipfrag_codes.push_back(code);
      return;
    }
    if (!sipfrag_codes.empty() && sipfrag_codes.back() == code) return;  // no change
    if (sipfrag_codes.size() >= kMaxProvisionalSipfrags) return;
    sipfrag_codes.push_back(code);
  }
};

}  // namespace

asio::awaitable<Flow> sip_refer(Call& c, const swml::Step& step) {
  auto args = co_await c.expand(step.args);
  if (!args) co_return Flow::fail(args.error());
  call::ReferRequest req;
  req.to_uri = get_string(*args, "to_uri");
  req.username = get_string(*args, "username");
  req.password = get_string(*args, "password");
  req.referred_by = c.config().referred_by;
  const std::string status_url = get_string(*args, "status_url");

  Flow f = co_await c.ensure_answered();
  if (f.kind != Flow::Kind::next) co_return f;

  const auto started = Clock::now();
  Leg& leg = c.focus();
  ReferProgress refer;
  auto subscription = c.subscribe([&refer, &leg](Leg& from, const call::Event& event) {
    if (&from == &leg) refer.on_event(event);
  });
  std::string result;
  std::string reason;

  // One callback per state change: "accepted" (REFER answered 2xx), "progress" (each
  // provisional sipfrag), then the result. Each carries the codes known for that state.
  auto callback = [&](const std::string& state, int notify_code) {
    if (status_url.empty()) return;  // nothing to build
    Value p = Value::object();
    p["sip_refer_to"] = req.to_uri;
    p["state"] = state;
    if (refer.response_code > 0) p["sip_refer_response_code"] = code_text(refer.response_code);
    if (notify_code > 0) p["sip_notify_response_code"] = code_text(notify_code);
    c.post_callback(status_url, "calling.call.refer", std::move(p));
  };

  if (!valid_refer_target(req.to_uri)) {
    result = "error";
    reason = "invalid to_uri";
    c.log(spdlog::level::warn, "sip_refer: '{}' is not a sip:, sips: or tel: URI", req.to_uri);
  } else {
    refer.active = true;
    leg.control().refer(req);
    bool got = co_await c.wait_until([&] { return refer.responded; },
                                     c.config().refer_response_timeout);
    int code = refer.response_code;
    if (got && code <= 0) {
      result = "error";
      reason = "the REFER could not be sent in this dialog";
    } else if (!got) {
      result = c.hung_up() ? "failed" : "timeout";
      reason = c.hung_up() ? "call ended before the REFER was answered" : "no response to REFER";
    } else if (code == 401 || code == 407) {
      result = req.username.empty() ? "error" : "failed";
      reason = req.username.empty() ? "REFER challenged and no credentials given"
                                    : "REFER challenged again after authenticating";
    } else if (code >= 300) {
      result = "failed";
      reason = "REFER rejected";
    } else if (code >= 200) {
      callback("accepted", 0);
      const auto deadline = c.deadline_after(c.config().refer_notify_timeout);
      std::size_t reported = 0;
      for (;;) {
        // Report each new provisional sipfrag as progress, then wait for more.
        for (; reported < refer.sipfrag_codes.size(); ++reported)
          if (refer.sipfrag_codes[reported] < 200) callback("progress", refer.sipfrag_codes[reported]);
        if (refer.final_sipfrag != 0 || refer.terminated || c.hung_up()) break;
        bool more = co_await c.wait_until_at(
            [&] {
              return refer.final_sipfrag != 0 || refer.terminated ||
                     refer.sipfrag_codes.size() > reported;
            },
            deadline);
        if (!more) break;
      }
      if (refer.final_sipfrag >= 200 && refer.final_sipfrag < 300) {
        result = "success";
      } else if (refer.final_sipfrag >= 300) {
        result = "failed";
        reason = "transfer target answered " + std::to_string(refer.final_sipfrag);
      } else if (refer.terminated) {
        result = "failed";
        reason = "subscription terminated without a final sipfrag";
      } else if (c.hung_up()) {
        result = "failed";
        reason = "call ended before the final NOTIFY";
      } else {
        result = "timeout";
        reason = "no final NOTIFY within " +
                 std::to_string(c.config().refer_notify_timeout.count()) + " ms";
      }
    } else {
      result = "failed";
      reason = "unexpected REFER response " + std::to_string(code);
    }
    refer.active = false;
  }

  Value& vars = c.vars();
  vars["sip_refer_to"] = req.to_uri;
  vars["sip_refer_response_code"] = code_text(refer.response_code);
  vars["sip_refer_to_response_code"] = code_text(refer.final_sipfrag);
  vars["sip_refer_result"] = result;
  vars["return_value"] = result;
  callback(result, refer.final_sipfrag ? refer.final_sipfrag
                  : refer.sipfrag_codes.empty() ? 0 : refer.sipfrag_codes.back());

  if (c.config().metrics)
    c.config().metrics->inc("swmld_refer_results_total", "result=\"" + result + "\"");
  const auto level = result == "success" ? spdlog::level::info : spdlog::level::warn;
  if (spdlog::default_logger_raw()->should_log(level)) {  // the record's JSON only when logged
    Value sipfrags = Value::array();
    for (int code : refer.sipfrag_codes) sipfrags.push_back(code);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    Value fields = {{"to_uri", req.to_uri},
                    {"refer_code", refer.response_code},
                    {"sipfrags", std::move(sipfrags)},
                    {"notifies", refer.notifies},
                    {"result", result},
                    {"duration_ms", ms}};
    if (!reason.empty()) fields["reason"] = reason;
    log::event(level, "refer_result", c.log_context(), fields);
  }
  if (c.hung_up()) co_return Flow::end();
  co_return Flow::next();
}

}  // namespace swmld::engine::methods
