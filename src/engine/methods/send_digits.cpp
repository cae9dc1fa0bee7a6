// `send_digits`: send DTMF to the far end (0-9 * # A-D; W = 1 s pause, w = 0.5 s).
#include "args.hpp"
#include "methods.hpp"

namespace swmld::engine::methods {

asio::awaitable<Flow> send_digits(Call& c, const swml::Step& step) {
  auto args = c.expand(step.args);
  if (!args) co_return Flow::fail(args.error());
  std::string digits = get_string(*args, "digits");
  if (digits.empty() || digits.find_first_not_of("0123456789*#ABCDabcdWw") != std::string::npos)
    co_return Flow::fail(ErrorCode::method_parameter_invalid_value,
                         "send_digits: digits must be 0-9 * # A-D W w, got '" + digits + "'");
  Flow f = co_await c.ensure_answered();
  if (f.kind != Flow::Kind::next) co_return f;
  c.ports().call->send_digits(digits);
  c.vars()["send_digits_result"] = "success";
  co_return Flow::next();
}

}  // namespace swmld::engine::methods
