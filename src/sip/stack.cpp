// Stack: the public face of the SIP module. Starts and stops the SIP thread that owns
// StackCore; everything else is posted to that thread.
#include <spdlog/spdlog.h>

#include <thread>

#include "executor.hpp"
#include "listen.hpp"
#include "stack_core.hpp"
#include "swmld/sip/stack.hpp"

namespace swmld::sip {

class Stack::Impl {
 public:
  std::shared_ptr<SipExecutor> executor;
  std::unique_ptr<StackCore> core;
  std::thread thread;
  bool stopped = false;
};

Stack::Stack(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Stack::~Stack() { shutdown(); }

Result<std::unique_ptr<Stack>> Stack::start(StackConfig config, InviteHandler on_invite) {
  auto fail = [](std::string message) { return make_error(ErrorCode::internal_error, std::move(message)); };
  if (config.listen.empty()) return fail("sip: no listen address configured");
  std::vector<ListenAddress> listen;
  for (const auto& text : config.listen) {
    std::string error;
    auto address = parse_listen_address(text, &error);
    if (!address) return fail("sip: " + error);
    listen.push_back(*address);
  }
  if (sofia_bind_urls(listen).size() > 2)
    return fail("sip: at most two distinct host:port listen groups are supported");
  for (const auto& address : listen) {
    std::string error = probe_bind(address);
    if (!error.empty()) return fail("sip: cannot listen on " + address.str() + ": " + error);
  }
  if (config.rtp_ports.first < 1 || config.rtp_ports.second > 65535 ||
      config.rtp_ports.second <= config.rtp_ports.first)
    return fail("sip: invalid RTP port range");

  auto impl = std::make_unique<Impl>();
  impl->executor = std::make_shared<SipExecutor>();
  if (!impl->executor->valid()) return fail("sip: eventfd() failed");
  impl->core = std::make_unique<StackCore>(std::move(config), std::move(on_invite), std::move(listen),
                                           impl->executor);
  std::promise<std::string> started;
  auto outcome = started.get_future();
  impl->thread = std::thread([core = impl->core.get(), p = std::move(started)]() mutable {
    core->run(std::move(p));
  });
  std::string error = outcome.get();
  if (!error.empty()) {
    impl->thread.join();
    return fail("sip: " + error);
  }
  return std::unique_ptr<Stack>(new Stack(std::move(impl)));
}

void Stack::drain() {
  impl_->executor->post([core = impl_->core.get()] { core->begin_drain(); });
}

void Stack::shutdown() {
  if (!impl_ || impl_->stopped) return;
  if (impl_->executor->on_sip_thread()) {  // joining ourselves would hang
    spdlog::error("sip: Stack::shutdown() called on the SIP thread; ignored");
    return;
  }
  impl_->stopped = true;
  impl_->executor->post([core = impl_->core.get()] { core->begin_shutdown(); });
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::size_t Stack::active_legs() const { return impl_->core->active_legs(); }

}  // namespace swmld::sip
