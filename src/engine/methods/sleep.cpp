// `sleep`: wait a number of milliseconds; -1 waits until the far end hangs up.
#include "args.hpp"
#include "methods.hpp"

namespace swmld::engine::methods {

asio::awaitable<Flow> sleep(Call& c, const swml::Step& step) {
  auto args = co_await c.expand(step.args);
  if (!args) co_return Flow::fail(args.error());
  auto ms = get_number(*args, "duration", 0, "sleep");
  if (!ms) co_return Flow::fail(ms.error());
  if (*ms < 0) {
    if (c.config().time_scale == 0) {
      // Simulated time cannot wait forever: the simulated far end hangs up instead.
      c.leg_events(c.inbound())->post(call::Ended{call::EndCause::remote_hangup, 0});
    }
    co_await c.wait_until([] { return false; }, std::nullopt);
    co_return Flow::end();
  }
  co_await c.wait_until([] { return false; },
                        std::chrono::milliseconds(static_cast<long long>(*ms)));
  if (c.hung_up()) co_return Flow::end();
  co_return Flow::next();
}

}  // namespace swmld::engine::methods
