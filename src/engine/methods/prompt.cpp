// `prompt`: play a prompt and collect DTMF digits. Digits pressed during the prompt stop
// it (barge-in) and count; digits typed ahead before the step are kept. Speech input is not
// supported yet: a speech-only prompt ends with prompt_result "failed".
#include "args.hpp"
#include "media_args.hpp"
#include "methods.hpp"
#include "swmld/core/ids.hpp"

namespace swmld::engine::methods {
namespace {

bool has_any(const Value& args, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (args.contains(k) && !args[k].is_null()) return true;
  return false;
}

std::chrono::milliseconds seconds_ms(double s) {
  return std::chrono::milliseconds(static_cast<long long>(s * 1000.0));
}

}  // namespace

asio::awaitable<Flow> prompt(Call& c, const swml::Step& step) {
  auto args = co_await c.expand(step.args);
  if (!args) co_return Flow::fail(args.error());
  auto req = play_request(c, *args, "play", "play", "prompt");
  if (!req) co_return Flow::fail(req.error());
  auto max_digits = get_number(*args, "max_digits", 1, "prompt");
  if (!max_digits) co_return Flow::fail(max_digits.error());
  auto digit_timeout = get_number(*args, "digit_timeout", 5.0, "prompt");
  if (!digit_timeout) co_return Flow::fail(digit_timeout.error());
  auto initial_timeout = get_number(*args, "initial_timeout", 5.0, "prompt");
  if (!initial_timeout) co_return Flow::fail(initial_timeout.error());
  std::string terminators = get_string(*args, "terminators");
  bool speech = has_any(*args, {"speech_timeout", "speech_end_timeout", "speech_language",
                                "speech_hints", "speech_engine"});
  bool digits_mode = !speech || has_any(*args, {"max_digits", "terminators", "digit_timeout",
                                                "initial_timeout"});

  Flow f = co_await c.ensure_answered();
  if (f.kind != Flow::Kind::next) co_return f;

  Value& vars = c.vars();
  for (const char* k : {"prompt_result", "prompt_value", "prompt_digit_terminator",
                        "prompt_speech_confidence"})
    vars.erase(k);
  std::string status_url = get_string(*args, "status_url");
  std::string control_id = new_uuid();

  if (!digits_mode) {
    c.log(spdlog::level::warn, "prompt: speech recognition is not supported; result 'failed'");
    vars["prompt_result"] = "failed";
    c.post_callback(status_url, "calling.call.collect",
                    {{"control_id", control_id}, {"result", {{"type", "error"}}}});
    co_return Flow::next();
  }

  auto& dtmf = c.focus().digits();
  std::string error = co_await play_and_wait(c, *req, [&dtmf] { return !dtmf.empty(); });
  if (c.hung_up()) co_return Flow::end();
  if (!error.empty() && !req->urls.empty())
    c.warn(Error{ErrorCode::method_execute_failed, "prompt: " + error, {}});

  std::string digits;
  std::string terminator;
  auto wanted = static_cast<std::size_t>(std::max(1.0, *max_digits));
  auto timeout = seconds_ms(*initial_timeout);
  bool done = false;
  while (!done) {
    bool got = co_await c.wait_until([&dtmf] { return !dtmf.empty(); }, timeout);
    if (c.hung_up()) co_return Flow::end();
    if (!got) break;  // initial or inter-digit timeout
    while (!dtmf.empty() && !done) {
      char d = dtmf.front();
      dtmf.pop_front();
      if (terminators.find(d) != std::string::npos) {
        terminator.assign(1, d);
        done = true;
      } else {
        digits.push_back(d);
        done = digits.size() >= wanted;
      }
    }
    timeout = seconds_ms(*digit_timeout);
  }

  bool matched = !digits.empty();
  vars["prompt_result"] = matched ? "match_digits" : "no_input";
  vars["prompt_value"] = digits;
  vars["prompt_digit_terminator"] = terminator;
  Value result = matched ? Value{{"type", "digit"},
                                 {"params", {{"digits", digits}, {"terminator", terminator}}}}
                         : Value{{"type", "no_input"}};
  c.post_callback(status_url, "calling.call.collect",
                  {{"control_id", control_id}, {"result", std::move(result)}});
  co_return Flow::next();
}

}  // namespace swmld::engine::methods
