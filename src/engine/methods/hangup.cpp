// `hangup`: end the call. Before answer the INVITE is rejected (hangup 480, busy 486,
// decline 603); after answer a BYE is sent. Execution stops.
#include "args.hpp"
#include "methods.hpp"

namespace swmld::engine::methods {

asio::awaitable<Flow> hangup(Call& c, const swml::Step& step) {
  auto args = co_await c.expand(step.args);
  if (!args) co_return Flow::fail(args.error());
  std::string reason = get_string(*args, "reason", "hangup");
  HangupReason r = HangupReason::hangup;
  if (reason == "busy") {
    r = HangupReason::busy;
  } else if (reason == "decline") {
    r = HangupReason::decline;
  } else if (reason != "hangup") {
    co_return Flow::fail(ErrorCode::method_parameter_invalid_value,
                         "hangup: reason must be hangup, busy or decline, got '" + reason + "'");
  }
  c.end_call(r);
  co_return Flow::end();
}

}  // namespace swmld::engine::methods
