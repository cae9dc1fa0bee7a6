// `answer`: answer the call (200 OK) and wait until the dialog is confirmed (ACK).
#include "methods.hpp"

namespace swmld::engine::methods {

asio::awaitable<Flow> answer(Call& c, const swml::Step& step) {
  auto args = co_await c.expand(step.args);
  if (!args) co_return Flow::fail(args.error());
  Flow f = co_await c.ensure_answered();
  if (f.kind != Flow::Kind::next) co_return f;
  c.vars()["answer_result"] = "success";
  co_return Flow::next();
}

}  // namespace swmld::engine::methods
