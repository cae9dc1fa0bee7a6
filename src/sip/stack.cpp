// Stack: the public face of the SIP module. Starts and stops the SIP thread that owns
// StackCore; everything else is posted to that thread.
#include "swmld/sip/stack.hpp"

#include <spdlog/spdlog.h>

#include <random>
#include <thread>

#include "executor.hpp"
#include "leg.hpp"
#include "listen.hpp"
#include "sip_context.hpp"
#include "stack_core.hpp"
#include "swmld/core/thread_name.hpp"
#include "tls.hpp"

namespace swmld::sip {

class Stack::Impl {
 public:
  std::shared_ptr<SipExecutor> executor;
  std::unique_ptr<SipContext> context;  // shut down by the SIP thread as its last act
  std::unique_ptr<StackCore> core;  // from run()
  std::thread thread;
  StackConfig config;                // until run()
  std::vector<ListenAddress> listen;
  std::unique_ptr<TlsDirectory> tls_dir;  // until run()
  bool stopped = false;
};

Stack::Stack(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Stack::~Stack() { shutdown(); }

Result<std::unique_ptr<Stack>> Stack::start(StackConfig config, InviteHandler on_invite) {
  auto stack = create(std::move(config));
  if (!stack) return stack.error();
  auto running = (*stack)->run(std::move(on_invite));
  if (!running) return running.error();
  return stack;
}

Result<std::unique_ptr<Stack>> Stack::create(StackConfig config) {
  auto fail = [](std::string message) { return make_error(ErrorCode::internal_error, std::move(message)); };
  if (config.listen.empty()) return fail("sip: no listen address configured");
  std::vector<ListenAddress> listen;
  for (const auto& text : config.listen) {
    std::string error;
    auto address = parse_listen_address(text, &error);
    if (!address) return fail("sip: " + error);
    listen.push_back(*address);
  }
  if (std::string conflict = listen_conflict(listen); !conflict.empty())
    return fail("sip: " + conflict);
  if (sofia_bind_urls(listen).size() > 2)
    return fail("sip: at most two distinct host:port listen groups are supported");
  std::unique_ptr<TlsDirectory> tls_dir;
  bool wants_tls = false;
  for (const auto& address : listen) wants_tls = wants_tls || address.transport == "tls";
  if (wants_tls) {
    auto dir = TlsDirectory::create(config.tls);
    if (!dir) return fail("sip: " + dir.error().message);
    tls_dir = std::move(*dir);
  }
  for (const auto& address : listen) {
    std::string error = probe_bind(address);
    if (!error.empty()) return fail("sip: cannot listen on " + address.str() + ": " + error);
  }
  auto impl = std::make_unique<Impl>();
  impl->executor = std::make_shared<SipExecutor>();
  if (!impl->executor->valid()) return fail("sip: eventfd() or timerfd_create() failed");
  impl->context = std::make_unique<SipContext>(impl->executor);
  impl->config = std::move(config);
  impl->listen = std::move(listen);
  impl->tls_dir = std::move(tls_dir);
  return std::unique_ptr<Stack>(new Stack(std::move(impl)));
}

Status Stack::run(InviteHandler on_invite) {
  auto fail = [](std::string message) { return make_error(ErrorCode::internal_error, std::move(message)); };
  if (impl_->core) return fail("sip: the stack is already running");
  impl_->core = std::make_unique<StackCore>(std::move(impl_->config), std::move(on_invite),
                                            std::move(impl_->listen), std::move(impl_->tls_dir),
                                            impl_->executor, impl_->context.get());
  std::promise<std::string> started;
  auto outcome = started.get_future();
  impl_->thread = std::thread([core = impl_->core.get(), p = std::move(started)]() mutable {
    name_this_thread("swmld-sip");
    core->run(std::move(p));
  });
  std::string error = outcome.get();
  if (!error.empty()) {
    impl_->thread.join();
    impl_->stopped = true;
    return fail("sip: " + error);
  }
  return Ok{};
}

void Stack::drain() {
  if (!impl_->core) return;
  impl_->executor->post([core = impl_->core.get()] { core->begin_drain(); });
}

void Stack::shutdown() {
  if (!impl_ || impl_->stopped) return;
  if (impl_->executor->on_sip_thread()) {  // joining ourselves would hang
    spdlog::error("sip: Stack::shutdown() called on the SIP thread; ignored");
    return;
  }
  impl_->stopped = true;
  if (!impl_->core) return;
  impl_->executor->post([core = impl_->core.get()] { core->begin_shutdown(); });
  if (impl_->thread.joinable()) impl_->thread.join();
}

namespace {

// A Call-ID of our own (logs name the leg before Sofia has sent anything): 128 random bits.
std::string new_call_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}{:016x}@swmld", rng(), rng());
}

}  // namespace

std::shared_ptr<call::CallControl> Stack::dial(OutboundCall call,
                                               std::shared_ptr<call::Events> events) {
  StackCore* core = impl_->core.get();
  if (!core) {  // never run: nothing to dial with
    if (events) events->post(call::Ended{call::EndCause::failure, 503, "SIP stack not running"});
    return nullptr;
  }
  if (call.from_uri.empty()) call.from_uri = core->default_from();
  // The Contact needs the listeners only (immutable once running).
  std::string contact = core->outbound_contact(call.request_uri, call.proxy);
  auto leg =
      std::make_shared<LegImpl>(*core, std::move(call), new_call_id(), std::move(contact), events);
  bool posted = impl_->executor->post([core, leg] { core->start_outbound(leg); });
  if (!posted) {
    // The SIP thread is gone: the leg cannot run there. Report from here (nothing else will).
    if (events) events->post(call::Ended{call::EndCause::failure, 503, "SIP stack shut down"});
  }
  return leg;
}

std::size_t Stack::active_legs() const { return impl_->core ? impl_->core->active_legs() : 0; }

TcpGuardStats Stack::tcp_guard_stats() const {
  return impl_->core ? impl_->core->tcp_guard_stats() : TcpGuardStats{};
}

boost::asio::any_io_executor Stack::executor() const { return impl_->context->get_executor(); }

namespace {
class ExecutorTimer final : public DeadlineTimer {
 public:
  explicit ExecutorTimer(std::shared_ptr<SipExecutor> executor) : executor_(std::move(executor)) {}
  ~ExecutorTimer() override { cancel(); }
  void arm(std::chrono::steady_clock::time_point deadline, std::function<void()> fire) override {
    cancel();
    id_ = executor_->arm(deadline, std::move(fire));
  }
  void cancel() override {
    if (id_ != 0) executor_->cancel(id_);
    id_ = 0;
  }

 private:
  std::shared_ptr<SipExecutor> executor_;
  SipExecutor::TimerId id_ = 0;
};
}  // namespace

std::unique_ptr<DeadlineTimer> Stack::make_timer() const {
  return std::make_unique<ExecutorTimer>(impl_->executor);
}

}  // namespace swmld::sip
