// `send_digits`: send DTMF to the far end (0-9 * # A-D; W = 1 s pause, w = 0.5 s). As RFC 4733
// events in the RTP stream when the far end negotiated telephone-event; else one SIP INFO
// (application/dtmf-relay) per key, the pauses timed here.
#include <cctype>

#include "args.hpp"
#include "methods.hpp"

namespace swmld::engine::methods {
namespace {

// INFO has no timing of its own: keys go out this far apart (a key's 100 ms plus a gap).
constexpr std::chrono::milliseconds kInfoInterval{200};

}  // namespace

asio::awaitable<Flow> send_digits(Call& c, const swml::Step& step) {
  auto args = co_await c.expand(step.args);
  if (!args) co_return Flow::fail(args.error());
  std::string digits = get_string(*args, "digits");
  if (digits.empty() || digits.find_first_not_of("0123456789*#ABCDabcdWw") != std::string::npos)
    co_return Flow::fail(ErrorCode::method_parameter_invalid_value,
                         "send_digits: digits must be 0-9 * # A-D W w, got '" + digits + "'");
  Flow f = co_await c.ensure_answered();
  if (f.kind != Flow::Kind::next) co_return f;

  Leg& leg = c.focus();
  std::string error;
  if (call::MediaControl* media = leg.media(); media && media->telephone_event()) {
    auto result = std::make_shared<std::optional<std::string>>();
    media->send_digits(digits, c.completion(result));
    co_await c.wait_until([&] { return result->has_value(); }, std::nullopt);
    if (c.hung_up()) co_return Flow::end();
    error = result->value_or("");
  } else {
    for (char d : digits) {
      auto pause = d == 'W' ? std::chrono::milliseconds(1000)
                 : d == 'w' ? std::chrono::milliseconds(500)
                            : kInfoInterval;
      if (d != 'W' && d != 'w')
        leg.control().send_info_digits(std::string(1, static_cast<char>(std::toupper(d))));
      co_await c.wait_until([] { return false; }, pause);
      if (c.hung_up()) co_return Flow::end();
    }
  }
  if (!error.empty()) c.log(spdlog::level::warn, "send_digits: {}", error);
  c.vars()["send_digits_result"] = error.empty() ? "success" : "failed";
  co_return Flow::next();
}

}  // namespace swmld::engine::methods
