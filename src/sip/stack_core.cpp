// StackCore: the SIP thread's loop, nua set-up and teardown, and routing of nua events.
#include "stack_core.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "incoming.hpp"
#include "leg.hpp"
#include "sip_context.hpp"
#include "sofia_log.hpp"

namespace swmld::sip {
namespace {

// What we take as a UAS. Not REFER: we send REFERs but are never transferred ourselves, and
// Sofia answers an out-of-dialog REFER it lets through with a NOTIFY of its own before any
// response (nua_refer_server_report): a reflection a spoofed source could aim anywhere.
// Outside the list, nta answers 405 (with this Allow) before any usage is created.
constexpr const char* kAllow = "INVITE, ACK, BYE, CANCEL, OPTIONS, NOTIFY, INFO";
// What an OPTIONS 200 lists in Accept besides application/sdp: Sofia appends that one itself
// (nua's INVITE accept list), so naming it here listed it twice.
constexpr const char* kAcceptBesidesSdp = "message/sipfrag, application/dtmf-relay";

// Runs queued work or timers from a Sofia callback: nothing may throw into Sofia.
template <typename F>
void guarded(const char* what, F&& f) noexcept {
  try {
    f();
  } catch (const std::exception& e) {
    spdlog::error("sip: {} threw: {}", what, e.what());
  } catch (...) {
    spdlog::error("sip: {} threw", what);
  }
}

// su_root wake-up of the executor's eventfd.
int on_executor_ready(StackCore* /*root magic*/, su_wait_t* /*wait*/, SipExecutor* executor) noexcept {
  guarded("posted task", [executor] { executor->on_eventfd(); });
  return 0;
}

// su_root wake-up of the executor's timerfd.
int on_timers_due(StackCore* /*root magic*/, su_wait_t* /*wait*/, SipExecutor* executor) noexcept {
  guarded("timer task", [executor] { executor->fire_due(); });
  return 0;
}

// The executor's local wake-up: a zero-delay timer armed by posts made on this thread.
void on_local_wakeup(StackCore* core, su_timer_t* /*timer*/, StackCore* /*arg*/) noexcept {
  guarded("posted task", [core] { core->executor()->drain(); });
}

void on_tcp_guard_tick(StackCore* core, su_timer_t* /*timer*/, StackCore* /*arg*/) noexcept {
  guarded("tcp guard", [core] { core->guard_tcp(); });
}

void on_shutdown_timeout(StackCore* core, su_timer_t* /*timer*/, StackCore* /*arg*/) noexcept {
  core->shutdown_timed_out();
}

bool is_wildcard(const std::string& host) { return host == "0.0.0.0" || host == "::"; }

}  // namespace

StackCore::StackCore(StackConfig config, Stack::InviteHandler on_invite,
                     std::vector<ListenAddress> listen, std::unique_ptr<TlsDirectory> tls_dir,
                     std::shared_ptr<SipExecutor> executor, SipContext* context)
    : config_(std::move(config)),
      on_invite_(std::move(on_invite)),
      listen_(std::move(listen)),
      tls_dir_(std::move(tls_dir)),
      executor_(std::move(executor)),
      context_(context) {}

void StackCore::run(std::promise<std::string> started) {
  su_init();
  root_ = su_root_create(this);
  std::string error;
  su_wait_t wait[1];
  su_wait_t timer_wait[1];
  if (!root_) {
    error = "su_root_create failed";
  } else {
    su_root_threading(root_, 0);  // nua_create must not start a thread of its own
    wakeup_timer_ = su_timer_create(su_root_task(root_), 0);
    executor_->bind_to_current_thread([this] {
      if (wakeup_timer_) su_timer_set_interval(wakeup_timer_, on_local_wakeup, this, 0);
    });
    if (su_wait_create(wait, executor_->fd(), SU_WAIT_IN) != 0 ||
        su_root_register(root_, wait, on_executor_ready, executor_.get(), 0) < 0 ||
        su_wait_create(timer_wait, executor_->timer_fd(), SU_WAIT_IN) != 0 ||
        su_root_register(root_, timer_wait, on_timers_due, executor_.get(), 0) < 0)
      error = "cannot register the SIP thread's wake-up descriptors";
    else
      error = create_nua();
  }
  bool ok = error.empty();
  started.set_value(error);
  if (ok) {
    su_root_run(root_);  // until nua_r_shutdown or the shutdown timer
    if (shutdown_timer_) su_timer_destroy(shutdown_timer_);
    shutdown_timer_ = nullptr;
    if (tcp_guard_timer_) su_timer_destroy(tcp_guard_timer_);
    tcp_guard_timer_ = nullptr;
    nua_destroy(nua_);
    nua_ = nullptr;
    for (auto& [ptr, leg] : legs_) leg->force_terminated();
    legs_.clear();
    active_ = 0;
    // Work living on this thread (engine.mode: sip_thread) has just seen its legs end: let
    // it run to its end (bounded), then destroy whatever is left, here.
    for (int round = 0; round < 256 && executor_->drain() > 0; ++round) {
    }
  }
  executor_->close();
  if (wakeup_timer_) su_timer_destroy(wakeup_timer_);
  wakeup_timer_ = nullptr;
  if (context_) context_->shut_down();
  if (root_) su_root_destroy(root_);
  root_ = nullptr;
  su_deinit();
}

std::string StackCore::create_nua() {
  redirect_sofia_logs(config_.sofia_log_level);
  auto urls = sofia_bind_urls(listen_);
  std::string url1 = urls.at(0);
  std::string url2 = urls.size() > 1 ? urls[1] : std::string();
  // NUTAG_URL and NUTAG_SIPS_URL are the two bind URLs nua_create() accepts; the second one
  // may be a plain sip: URL (the tag only names the slot).
  // TLS (src/sip/README.md): the directory of agent.pem/cafile.pem. TPTAG_TLS_VERSION(0)
  // asks Sofia for OpenSSL's version-flexible TLS_method in any build (its source selects
  // TLSv1_method for the default 1; Debian's build negotiates TLS 1.3 either way, measured).
  // The verify depth is stated rather than left at Sofia's 0.
  const char* tls_dir = tls_dir_ ? tls_dir_->path().c_str() : nullptr;
  unsigned verify = config_.tls.verify_peer ? TPTLS_VERIFY_ALL : TPTLS_VERIFY_NONE;
  nua_ = nua_create(root_, &StackCore::on_nua_event, this,
                    NUTAG_URL(url1.c_str()),
                    TAG_IF(!url2.empty(), NUTAG_SIPS_URL(url2.c_str())),
                    SIPTAG_USER_AGENT_STR(config_.user_agent.c_str()),
                    SIPTAG_ALLOW_STR(kAllow),
                    SIPTAG_SUPPORTED_STR(""),        // no timer, no 100rel: decided, see docs
                    // Answered here, not by Sofia: OPTIONS (drain state); INFO (200 in a
                    // dialog, 481 outside one, where Sofia would say 200).
                    NUTAG_APPL_METHOD("OPTIONS, INFO"),
                    NUTAG_AUTOANSWER(0),
                    NUTAG_AUTOALERT(0),
                    NUTAG_AUTOACK(1),
                    NUTAG_MEDIA_ENABLE(0),           // raw SDP: we write the answer ourselves
                    NUTAG_SESSION_TIMER(0),
                    NUTAG_EARLY_MEDIA(0),
                    NUTAG_ENABLEMESSAGE(0),
                    TAG_IF(config_.udp_rmem_bytes > 0, TPTAG_UDP_RMEM(config_.udp_rmem_bytes)),
                    TPTAG_IDLE(config_.tcp_idle_timeout_ms),
                    TPTAG_TIMEOUT(config_.message_timeout_ms),
                    NTATAG_SIP_T1X64(config_.transaction_timeout_ms),
                    NTATAG_MAXSIZE(config_.max_message_bytes),
                    TAG_IF(tls_dir, NUTAG_CERTIFICATE_DIR(tls_dir)),
                    TAG_IF(tls_dir, TPTAG_TLS_VERSION(0)),
                    TAG_IF(tls_dir, TPTAG_TLS_VERIFY_POLICY(verify)),
                    TAG_IF(tls_dir, TPTAG_TLS_VERIFY_DEPTH(9)),
                    TPTAG_PONG2PING(1),              // CRLF keep-alives get their pong (RFC 5626)
                    TAG_END());
  // Sofia has read the key and certificates into its SSL context: the copies go.
  if (tls_dir_) tls_dir_->remove();
  if (!nua_) {
    std::string names;
    for (const auto& a : listen_) names += (names.empty() ? "" : ", ") + a.str();
    return "cannot bind SIP transports (" + names + ")";
  }
  std::string names;
  for (const auto& u : urls) names += (names.empty() ? "" : ", ") + u;
  spdlog::info("sip: listening on {}", names);
  start_tcp_guard();
  return {};
}

void StackCore::start_tcp_guard() {
  TcpGuardConfig gc;
  for (const auto& a : listen_)
    if (a.transport != "udp") gc.ports.insert(a.port);
  if (gc.ports.empty()) return;
  gc.max_per_source = config_.tcp_max_connections_per_source;
  gc.message_timeout = std::chrono::milliseconds(config_.message_timeout_ms);
  // A quarter of the message timeout between looks, 100 ms to 1 s: a connection over a
  // limit lives at most that much longer than the limit says.
  unsigned tick = std::clamp(config_.message_timeout_ms / 4, 100u, 1000u);
  tcp_guard_ = std::make_unique<TcpGuard>(std::move(gc));
  tcp_guard_timer_ = su_timer_create(su_root_task(root_), tick);
  if (tcp_guard_timer_) su_timer_run(tcp_guard_timer_, on_tcp_guard_tick, this);
}

void StackCore::guard_tcp() {
  if (!tcp_guard_ || shutting_down_) return;
  auto now = std::chrono::steady_clock::now();
  for (const auto& c : tcp_guard_->scan(now)) {
    tcp_closed_[c.reason].fetch_add(1, std::memory_order_relaxed);
    ++tcp_guard_unlogged_[c.reason];
    tcp_guard_last_peer_ = c.peer;
  }
  // One line per 5 s at most, whatever a peer does.
  bool any = false;
  for (auto n : tcp_guard_unlogged_) any = any || n > 0;
  if (!any || now - tcp_guard_logged_ < std::chrono::seconds(5)) return;
  tcp_guard_logged_ = now;
  spdlog::warn("sip: closed TCP connections: {} over the per-source limit, {} silent, {} trickling, "
               "{} unread (last from {})",
               tcp_guard_unlogged_[TcpGuard::kOverLimit], tcp_guard_unlogged_[TcpGuard::kSilent],
               tcp_guard_unlogged_[TcpGuard::kTrickle], tcp_guard_unlogged_[TcpGuard::kUnread],
               tcp_guard_last_peer_);
  for (auto& n : tcp_guard_unlogged_) n = 0;
}

TcpGuardStats StackCore::tcp_guard_stats() const {
  TcpGuardStats st;
  st.over_limit = tcp_closed_[TcpGuard::kOverLimit].load(std::memory_order_relaxed);
  st.silent = tcp_closed_[TcpGuard::kSilent].load(std::memory_order_relaxed);
  st.trickle = tcp_closed_[TcpGuard::kTrickle].load(std::memory_order_relaxed);
  st.unread = tcp_closed_[TcpGuard::kUnread].load(std::memory_order_relaxed);
  return st;
}

void StackCore::begin_drain() {
  if (draining_) return;
  draining_ = true;
  spdlog::info("sip: draining: new INVITEs and OPTIONS get 503");
}

void StackCore::begin_shutdown() {
  if (shutting_down_ || !nua_) return;
  shutting_down_ = true;
  draining_ = true;
  spdlog::info("sip: shutting down ({} active legs)", legs_.size());
  shutdown_timer_ = su_timer_create(su_root_task(root_), config_.shutdown_timeout_ms);
  if (shutdown_timer_) su_timer_set(shutdown_timer_, on_shutdown_timeout, this);
  nua_shutdown(nua_);
}

void StackCore::shutdown_timed_out() {
  spdlog::warn("sip: nua_shutdown did not complete in {} ms; destroying the stack",
               config_.shutdown_timeout_ms);
  su_root_break(root_);
}

void StackCore::leg_finished(LegImpl* leg) {
  if (legs_.erase(leg)) --active_;
}

void StackCore::start_outbound(std::shared_ptr<LegImpl> leg) {
  if (draining_ || shutting_down_ || !nua_) {
    leg->refuse_outbound(503);
    return;
  }
  legs_.emplace(leg.get(), leg);
  ++active_;
  leg->start_outbound();
}

namespace {

// Transport and IP family an outbound request goes out with: `;transport=` of the URI the
// request is sent to (sips: is tls), and whether its host is an IPv6 literal.
std::pair<std::string, bool> route_of(const std::string& uri) {
  std::string lower = uri;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string transport = "udp";
  if (lower.rfind("sips:", 0) == 0 || lower.find(";transport=tls") != std::string::npos)
    transport = "tls";
  else if (lower.find(";transport=tcp") != std::string::npos)
    transport = "tcp";
  auto at = lower.find('@');
  auto host = at == std::string::npos ? lower.find(':') + 1 : at + 1;
  bool ipv6 = host < lower.size() && lower[host] == '[';
  return {transport, ipv6};
}

std::string uri_host(const std::string& host) {
  return host.find(':') != std::string::npos && host.front() != '[' ? "[" + host + "]" : host;
}

}  // namespace

std::string StackCore::outbound_contact(const std::string& target, const std::string& proxy) const {
  auto [transport, ipv6] = route_of(proxy.empty() ? target : proxy);
  const ListenAddress& via = listen_for(transport, ipv6);
  std::string host = !config_.public_address.empty() ? config_.public_address : via.host;
  if (is_wildcard(host)) return {};
  if (via.transport == "tls")
    return "<sips:" + uri_host(host) + ":" + std::to_string(via.port) + ">";
  return "<sip:" + uri_host(host) + ":" + std::to_string(via.port) + ";transport=" + via.transport +
         ">";
}

std::string StackCore::default_from() const {
  std::string host =
      !config_.public_address.empty() ? config_.public_address : listen_.front().host;
  if (is_wildcard(host)) host = "localhost";
  return "sip:swmld@" + uri_host(host);
}

void StackCore::on_nua_event(nua_event_t event, int status, char const* phrase, nua_t* /*nua*/,
                             StackCore* core, nua_handle_t* nh, LegImpl* leg, sip_t const* sip,
                             tagi_t tags[]) noexcept {
  try {
    core->dispatch(event, status, phrase, nh, leg, sip, tags);
  } catch (const std::exception& e) {
    spdlog::error("sip: event {} handler threw: {}", nua_event_name(event), e.what());
  } catch (...) {
    spdlog::error("sip: event {} handler threw", nua_event_name(event));
  }
}

void StackCore::dispatch(nua_event_t event, int status, char const* phrase, nua_handle_t* nh,
                         LegImpl* leg, sip_t const* sip, tagi_t tags[]) {
  if (event == nua_r_shutdown) {
    spdlog::debug("sip: shutdown {} {}", status, phrase ? phrase : "");
    if (status >= 200) su_root_break(root_);
    return;
  }
  if (leg) {
    leg->on_event(event, status, phrase, nua_, sip, tags);
    return;
  }
  if (!nh) return;
  switch (event) {
    case nua_i_invite:
      on_new_invite(nh, sip);
      break;
    case nua_i_state: {
      // A handle we never bound (a rejected INVITE) is done once its call state ends.
      int callstate = nua_callstate_init;
      tl_gets(tags, NUTAG_CALLSTATE_REF(callstate), TAG_END());
      if (callstate == nua_callstate_terminated) nua_handle_destroy(nh);
      break;
    }
    case nua_i_options:
    case nua_i_refer:
    case nua_i_info:
    case nua_i_notify:
    case nua_i_message:
    case nua_i_subscribe:
    case nua_i_publish:
    case nua_i_register:
    case nua_i_method:
      respond_out_of_dialog(event, nh, sip);
      break;
    default:
      break;
  }
}

void StackCore::respond_out_of_dialog(nua_event_t event, nua_handle_t* nh, sip_t const* sip) {
  // OPTIONS and INFO are application methods: answer them here. Sofia has already answered
  // the others. Either way the handle was created for this request only.
  const char* bad = (event == nua_i_options || event == nua_i_info) ? malformed_request(sip) : nullptr;
  if (bad) {
    nua_respond(nh, 400, bad, NUTAG_WITH_THIS(nua_), TAG_END());
  } else if (event == nua_i_options) {
    if (draining_) {
      std::string retry = std::to_string(config_.drain_retry_after_s);
      nua_respond(nh, SIP_503_SERVICE_UNAVAILABLE, NUTAG_WITH_THIS(nua_),
                  SIPTAG_RETRY_AFTER_STR(retry.c_str()), TAG_END());
    } else {
      nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua_), SIPTAG_ACCEPT_STR(kAcceptBesidesSdp),
                  TAG_END());
    }
  } else if (event == nua_i_info) {
    // INFO belongs to an INVITE dialog (RFC 6086); none matches this one (RFC 3261 §12.2.2).
    nua_respond(nh, SIP_481_NO_TRANSACTION, NUTAG_WITH_THIS(nua_), TAG_END());
  }
  nua_handle_destroy(nh);
}

const ListenAddress& StackCore::listen_for(const std::string& transport, bool ipv6) const {
  for (const auto& a : listen_)
    if (a.transport == transport && a.is_ipv6() == ipv6) return a;
  for (const auto& a : listen_)
    if (a.transport == transport) return a;
  return listen_.front();
}

std::string StackCore::local_host(const ListenAddress& via, sip_t const* sip) const {
  if (!config_.public_address.empty()) return config_.public_address;
  if (!is_wildcard(via.host)) return via.host;
  // Bound to any address: the one the caller used is in the Request-URI.
  if (sip && sip->sip_request && sip->sip_request->rq_url->url_host)
    return sip->sip_request->rq_url->url_host;
  return via.host;
}

namespace {

// Why an INVITE cannot be taken whatever its document says (RFC 3261 §8.2.3, RFC 4475
// invut and sdp01): a body that is not SDP is 415 with the Accept we take; an Accept that
// excludes SDP leaves us no answer the caller could read, 406. 0 when the INVITE is fine.
int unacceptable_invite(sip_t const* sip) {
  if (sip->sip_payload && sip->sip_payload->pl_len > 0) {
    const char* type = sip->sip_content_type ? sip->sip_content_type->c_type : nullptr;
    if (!type || !su_casematch(type, "application/sdp")) return 415;
  }
  if (sip->sip_accept) {
    for (sip_accept_t const* a = sip->sip_accept; a; a = a->ac_next) {
      if (!a->ac_type) return 0;  // an empty Accept header: nothing excluded
      if (su_casematch(a->ac_type, "application/sdp") || su_casematch(a->ac_type, "application/*") ||
          su_casematch(a->ac_type, "*/*"))
        return 0;
    }
    return 406;
  }
  return 0;
}

}  // namespace

// A Request-URI with headers (RFC 3261 19.1.1 forbids them there; RFC 4475 escruri), which
// Sofia's parser lets through: the reason phrase of the 400, or null for a request that is
// fine. Its other liberties (lwsstart, trws, baddate, badaspec) cannot be seen from here:
// the raw text is gone once Sofia has parsed it in place (docs/operations.md, "Bad input").
const char* StackCore::malformed_request(sip_t const* sip) {
  if (!sip || !sip->sip_request) return nullptr;
  if (sip->sip_request->rq_url->url_headers) return "Bad Request-URI";
  return nullptr;
}

void StackCore::on_new_invite(nua_handle_t* nh, sip_t const* sip) {
  if (draining_) {
    std::string retry = std::to_string(config_.drain_retry_after_s);
    nua_respond(nh, SIP_503_SERVICE_UNAVAILABLE, NUTAG_WITH_THIS(nua_),
                SIPTAG_RETRY_AFTER_STR(retry.c_str()), TAG_END());
    return;  // the handle goes with its terminated state
  }
  if (const char* bad = malformed_request(sip)) {
    spdlog::debug("sip: INVITE {} refused with 400 {}",
                  sip->sip_call_id && sip->sip_call_id->i_id ? sip->sip_call_id->i_id : "-", bad);
    nua_respond(nh, 400, bad, NUTAG_WITH_THIS(nua_), TAG_END());
    return;  // the handle goes with its terminated state
  }
  if (int code = sip ? unacceptable_invite(sip) : 0) {
    spdlog::debug("sip: INVITE {} refused with {} before routing: {}",
                 sip->sip_call_id && sip->sip_call_id->i_id ? sip->sip_call_id->i_id : "-", code,
                 code == 415 ? "its body is not application/sdp" : "its Accept excludes application/sdp");
    if (code == 415) {
      nua_respond(nh, SIP_415_UNSUPPORTED_MEDIA, NUTAG_WITH_THIS(nua_),
                  SIPTAG_ACCEPT_STR("application/sdp"), TAG_END());
    } else {
      nua_respond(nh, SIP_406_NOT_ACCEPTABLE, NUTAG_WITH_THIS(nua_),
                  SIPTAG_ACCEPT_STR("application/sdp"), TAG_END());
    }
    return;  // the handle goes with its terminated state
  }
  IncomingCall info = copy_incoming(nua_, sip);
  const ListenAddress& via = listen_for(info.transport.empty() ? "udp" : info.transport,
                                        info.source_ip.find(':') != std::string::npos);
  std::string host = local_host(via, sip);
  std::string host_uri = host.find(':') != std::string::npos && host.front() != '[' ? "[" + host + "]" : host;
  // TLS: sips: when the caller addressed a sips: URI (RFC 3261 §8.1.1.8), else
  // sip:;transport=tls. Either way the caller's in-dialog requests come back over TLS.
  std::string contact;
  bool sips = sip && sip->sip_request && sip->sip_request->rq_url->url_type == url_sips;
  if (via.transport == "tls" && sips)
    contact = "<sips:" + host_uri + ":" + std::to_string(via.port) + ">";
  else
    contact =
        "<sip:" + host_uri + ":" + std::to_string(via.port) + ";transport=" + via.transport + ">";
  info.local_address = host;

  auto leg = std::make_shared<LegImpl>(*this, nh, std::move(info), std::move(contact));
  nua_handle_bind(nh, leg.get());
  legs_.emplace(leg.get(), leg);
  ++active_;
  // debug: per-call detail; the SIP thread must not pay a log write per message under load.
  spdlog::debug("sip: INVITE {} from {} to {} ({}:{} {})", leg->info().sip_call_id, leg->info().from_uri,
                leg->info().request_uri, leg->info().source_ip, leg->info().source_port,
                leg->info().transport);
  try {
    if (on_invite_) on_invite_(leg);
  } catch (const std::exception& e) {
    spdlog::error("sip: INVITE handler threw: {}", e.what());
    leg->reject(500, 0);
  }
}

}  // namespace swmld::sip
