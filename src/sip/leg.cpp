// LegImpl: the inbound call state machine on the SIP thread (see leg.hpp).
#include "leg.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "stack_core.hpp"

namespace swmld::sip {
namespace {

std::string header_text(const char* s) { return s ? std::string(s) : std::string(); }

bool content_type_is(sip_t const* sip, const char* type) {
  return sip && sip->sip_content_type && sip->sip_content_type->c_type &&
         strcasecmp(sip->sip_content_type->c_type, type) == 0;
}

std::string payload_of(sip_t const* sip) {
  if (!sip || !sip->sip_payload || !sip->sip_payload->pl_data) return {};
  return std::string(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
}

}  // namespace

LegImpl::LegImpl(StackCore& core, nua_handle_t* nh, IncomingCall info, std::string contact)
    : core_(core),
      executor_(core.executor()),
      nh_(nh),
      info_(std::move(info)),
      contact_(std::move(contact)) {}

namespace {

// Headers the stack writes itself: an extra header of these names is dropped (logged).
bool reserved_header(std::string_view name) {
  static constexpr const char* kReserved[] = {
      "via", "call-id", "i", "cseq", "from", "f", "to", "t", "contact", "m", "content-length", "l",
      "content-type", "c", "max-forwards", "route", "record-route", "session-expires", "x",
      "min-se", "supported", "k", "require", "allow", "authorization", "proxy-authorization"};
  for (const char* r : kReserved)
    if (name.size() == strlen(r) && strncasecmp(name.data(), r, name.size()) == 0) return true;
  return false;
}

bool valid_header_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!(isalnum(static_cast<unsigned char>(c)) || strchr("-.!%*_+`'~", c))) return false;
  return true;
}

std::string bracketed(const std::string& uri) {
  return uri.find('<') == std::string::npos ? "<" + uri + ">" : uri;
}

// A display name as a quoted string (RFC 3261 25.1): quotes and backslashes escaped, CR/LF
// dropped.
std::string quoted(const std::string& text) {
  std::string q = "\"";
  for (char c : text) {
    if (c == '\r' || c == '\n') continue;
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

IncomingCall outbound_info(const OutboundCall& call, const std::string& call_id) {
  IncomingCall info;
  info.sip_call_id = call_id;
  info.request_uri = call.request_uri;
  info.from_uri = call.from_uri;
  info.from_display = call.from_display;
  info.to_uri = call.request_uri;
  return info;
}

}  // namespace

LegImpl::LegImpl(StackCore& core, OutboundCall call, std::string call_id, std::string contact,
                 std::shared_ptr<call::Events> events)
    : core_(core),
      executor_(core.executor()),
      nh_(nullptr),
      info_(outbound_info(call, call_id)),
      contact_(std::move(contact)),
      events_(std::move(events)),
      outbound_(true),
      out_(std::move(call)) {
  target_ = out_.request_uri;
  from_ = (out_.from_display.empty() ? std::string() : quoted(out_.from_display) + " ") +
          bracketed(out_.from_uri);
  for (const auto& [name, value] : out_.headers) {
    if (!valid_header_name(name) || reserved_header(name) ||
        value.find_first_of("\r\n") != std::string::npos) {
      spdlog::warn("{}sip: outbound call {}: header '{}' not sent (reserved or malformed)",
                   out_.log_context, call_id, name);
      continue;
    }
    invite_headers_ += name + ": " + value + "\r\n";
  }
}

LegImpl::~LegImpl() = default;

const char* LegImpl::name(State s) {
  switch (s) {
    case State::received: return "received";
    case State::ringing: return "ringing";
    case State::answered: return "answered";
    case State::confirmed: return "confirmed";
    case State::terminating: return "terminating";
    case State::terminated: return "terminated";
  }
  return "?";
}

void LegImpl::transition(State to) {
  if (to == state_) return;
  spdlog::debug("sip: call {} {} -> {}", info_.sip_call_id, name(state_), name(to));
  state_ = to;
}

// ---- call::CallControl: any thread, hops to the SIP thread --------------------------------

template <typename F>
void LegImpl::on_sip_thread(F&& action) {
  executor_->run([self = shared_from_this(), action = std::forward<F>(action)]() mutable {
    action(*self);
  });
}

void LegImpl::attach(std::shared_ptr<call::Events> events) {
  on_sip_thread([events = std::move(events)](LegImpl& leg) {
    leg.events_ = events;
    if (!events) return;
    auto pending = std::move(leg.pending_);
    leg.pending_.clear();
    for (auto& event : pending) leg.emit(std::move(event));
  });
}

void LegImpl::ring() {
  on_sip_thread([](LegImpl& leg) { leg.do_ring(); });
}

void LegImpl::progress(std::string local_sdp) {
  on_sip_thread([sdp = std::move(local_sdp)](LegImpl& leg) { leg.do_progress(sdp); });
}

void LegImpl::answer(std::string local_sdp) {
  on_sip_thread([sdp = std::move(local_sdp)](LegImpl& leg) { leg.do_answer(sdp); });
}

void LegImpl::answer_offer(std::string local_sdp) {
  on_sip_thread([sdp = std::move(local_sdp)](LegImpl& leg) { leg.do_answer_offer(sdp); });
}

void LegImpl::reject(int code, int retry_after_s) {
  on_sip_thread([code, retry_after_s](LegImpl& leg) { leg.do_reject(code, retry_after_s); });
}

void LegImpl::bye() {
  on_sip_thread([](LegImpl& leg) { leg.do_bye(); });
}

void LegImpl::refer(call::ReferRequest request) {
  on_sip_thread([request = std::move(request)](LegImpl& leg) mutable {
    leg.do_refer(std::move(request));
  });
}

void LegImpl::send_info_digits(std::string digits) {
  on_sip_thread([digits = std::move(digits)](LegImpl& leg) { leg.do_info(digits); });
}

// ---- actions: SIP thread ------------------------------------------------------------------

void LegImpl::do_ring() {
  if (outbound_) {
    spdlog::debug("sip: call {}: ring() on an outbound leg ignored", info_.sip_call_id);
    return;
  }
  if (!nh_ || state_ != State::received) return;
  nua_respond(nh_, SIP_180_RINGING, SIPTAG_CONTACT_STR(contact_.c_str()), TAG_END());
  transition(State::ringing);
}

void LegImpl::do_progress(const std::string& sdp) {
  if (outbound_) {
    spdlog::debug("sip: call {}: progress() on an outbound leg ignored", info_.sip_call_id);
    return;
  }
  if (!nh_ || (state_ != State::received && state_ != State::ringing) || sdp.empty()) return;
  local_sdp_ = sdp;
  // Early media without 100rel: an unreliable 183 with the SDP answer (RFC 3261 allows it;
  // the 200 repeats the same answer).
  nua_respond(nh_, SIP_183_SESSION_PROGRESS, SIPTAG_CONTACT_STR(contact_.c_str()),
              SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(local_sdp_.c_str()),
              TAG_END());
  transition(State::ringing);
}

void LegImpl::do_answer(const std::string& sdp) {
  if (outbound_) {
    spdlog::debug("sip: call {}: answer() on an outbound leg ignored", info_.sip_call_id);
    return;
  }
  if (!nh_ || (state_ != State::received && state_ != State::ringing)) return;
  local_sdp_ = sdp;
  offered_in_200_ = info_.remote_sdp.empty();  // late offer: our 200 carries the offer
  nua_respond(nh_, SIP_200_OK, SIPTAG_CONTACT_STR(contact_.c_str()),
              SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(local_sdp_.c_str()),
              TAG_END());
  transition(State::answered);
}

void LegImpl::do_answer_offer(const std::string& sdp) {
  if (!nh_ || !reinvite_pending_) return;
  reinvite_pending_ = false;
  // Without NUTAG_WITH, nua_respond() answers the handle's pending INVITE transaction.
  if (sdp.empty()) {
    nua_respond(nh_, SIP_488_NOT_ACCEPTABLE, TAG_END());
    offered_in_200_ = false;
    return;
  }
  local_sdp_ = sdp;
  nua_respond(nh_, SIP_200_OK, SIPTAG_CONTACT_STR(contact_.c_str()),
              SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(local_sdp_.c_str()),
              TAG_END());
}

void LegImpl::do_reject(int code, int retry_after_s) {
  if (outbound_ || answered()) {  // outbound: CANCEL before the answer, BYE after it
    do_bye();
    return;
  }
  if (!nh_) return;
  if (state_ != State::received && state_ != State::ringing) return;
  if (code < 300 || code > 699) code = 500;
  std::string retry = std::to_string(retry_after_s);
  if (!end_) end_ = call::Ended{call::EndCause::local, code};
  // nua_respond() keeps the phrase pointer: Sofia's own phrases are static.
  const char* text = sip_status_phrase(code);
  nua_respond(nh_, code, text ? text : "Rejected",
              TAG_IF(retry_after_s > 0, SIPTAG_RETRY_AFTER_STR(retry.c_str())), TAG_END());
  transition(State::terminating);
}

void LegImpl::do_bye() {
  if (outbound_ && !answered()) {
    if (state_ == State::terminated || state_ == State::terminating) return;
    if (!end_) end_ = call::Ended{call::EndCause::local, 0};
    if (!nh_) {  // not sent yet, or waiting for credentials we will not give
      finish(*end_);
      return;
    }
    // CANCEL; a 2xx that crosses it is ACKed and then BYEd (on_state, nua_callstate_ready).
    cancel_sent_ = true;
    nua_cancel(nh_, TAG_END());
    transition(State::terminating);
    return;
  }
  if (!nh_) return;
  if (!answered()) {
    do_reject(480, 0);
    return;
  }
  if (!end_) end_ = call::Ended{call::EndCause::local, 0};
  nua_bye(nh_, TAG_END());
  transition(State::terminating);
}

void LegImpl::do_refer(call::ReferRequest request) {
  if (!nh_ || state_ != State::confirmed || refer_.waiting_response()) {
    spdlog::warn("sip: call {}: REFER not sent (state {}{})", info_.sip_call_id, name(state_),
                 refer_.waiting_response() ? ", another REFER pending" : "");
    emit(call::ReferResponse{0});
    return;
  }
  if (request.referred_by.empty()) request.referred_by = local_uri();
  auto bracket = [](const std::string& uri) {
    return uri.find('<') == std::string::npos ? "<" + uri + ">" : uri;
  };
  std::string refer_to = bracket(request.to_uri);
  std::string referred_by = bracket(request.referred_by);
  // Per-call SIP lines are debug (the refer_result record is the info-level summary).
  spdlog::debug("sip: call {}: REFER to {}", info_.sip_call_id, request.to_uri);
  refer_.start(std::move(request));
  nua_refer(nh_, SIPTAG_REFER_TO_STR(refer_to.c_str()), SIPTAG_REFERRED_BY_STR(referred_by.c_str()),
            TAG_END());
}

void LegImpl::do_info(const std::string& digits) {
  if (!nh_ || state_ != State::confirmed) return;
  for (char d : digits) {
    std::string body = std::string("Signal=") + d + "\r\nDuration=160\r\n";
    nua_info(nh_, SIPTAG_CONTENT_TYPE_STR("application/dtmf-relay"),
             SIPTAG_PAYLOAD_STR(body.c_str()), TAG_END());
  }
}

// ---- events: SIP thread -------------------------------------------------------------------

void LegImpl::on_event(nua_event_t event, int status, char const* phrase, nua_t* nua,
                       sip_t const* sip, tagi_t tags[]) {
  switch (event) {
    case nua_i_state:
      on_state(status, tags);
      break;
    case nua_i_invite:  // re-INVITE (the initial one never reaches a bound handle)
      on_reinvite(sip);
      break;
    case nua_i_ack:
      on_ack(sip);
      break;
    case nua_r_invite:  // outbound: a response to our INVITE (or to a refresh re-INVITE)
      on_invite_response(status, phrase, sip);
      break;
    case nua_r_cancel:
      spdlog::debug("sip: call {}: CANCEL answered {} {}", info_.sip_call_id, status,
                    header_text(phrase));
      break;
    case nua_i_cancel:
      if (!end_) end_ = call::Ended{call::EndCause::cancel, 0};
      break;
    case nua_i_bye:
      if (!end_) end_ = call::Ended{call::EndCause::remote_hangup, 0};
      break;
    case nua_i_error:
      // 408 "ACK Timeout": no ACK for our 200 within 64*T1; Sofia sends BYE itself.
      if (status == 408 && state_ == State::answered && !end_)
        end_ = call::Ended{call::EndCause::ack_timeout, 408};
      spdlog::info("sip: call {}: error {} {}", info_.sip_call_id, status, header_text(phrase));
      break;
    case nua_r_refer:
      on_refer_response(status, sip, tags);
      break;
    case nua_r_bye:
      // 408: no answer within sip.transaction_timeout (Timer F); 481: the far end had
      // forgotten the dialog. Either way the dialog ends now (callstate terminated follows).
      if (status >= 300)
        spdlog::info(
            "sip: call {}: our BYE got {} {}; the dialog ends without the far end's answer",
            info_.sip_call_id, status, header_text(phrase));
      break;
    case nua_i_notify:
      if (status < 300) on_notify(sip);  // >= 300: Sofia refused it (e.g. 481 unknown id)
      break;
    case nua_i_info:  // an application method (StackCore): answered here
      nua_respond(nh_, SIP_200_OK, NUTAG_WITH_THIS(nua), TAG_END());
      on_info(sip);
      break;
    case nua_i_options:  // in-dialog OPTIONS (an application method, see StackCore)
      nua_respond(nh_, SIP_200_OK, NUTAG_WITH_THIS(nua), TAG_END());
      break;
    default:
      break;
  }
}

void LegImpl::on_state(int status, tagi_t tags[]) {
  int callstate = nua_callstate_init;
  tl_gets(tags, NUTAG_CALLSTATE_REF(callstate), TAG_END());
  switch (callstate) {
    case nua_callstate_ready:
      if (outbound_ && cancel_sent_ && nh_) {
        // A 2xx crossed our CANCEL: Sofia has ACKed it; the call must not stay up.
        spdlog::debug("sip: call {}: answered after CANCEL; sending BYE", info_.sip_call_id);
        cancel_sent_ = false;
        nua_bye(nh_, TAG_END());
        break;
      }
      if (state_ == State::answered) transition(State::confirmed);
      if (!answered_reported_ && state_ == State::confirmed) {
        answered_reported_ = true;
        emit(call::Answered{});
      }
      break;
    case nua_callstate_terminating:
      if (state_ != State::terminated) transition(State::terminating);
      break;
    case nua_callstate_terminated: {
      if (!end_ && refresh_failed_)  // a session refresh failed; Sofia ended the dialog
        end_ = call::Ended{call::EndCause::failure, refresh_failed_};
      if (!end_ && core_.shutting_down()) end_ = call::Ended{call::EndCause::shutdown, 0};
      call::Ended ended = end_.value_or(
          status >= 300 ? call::Ended{call::EndCause::failure, status} : call::Ended{});
      finish(ended);
      break;
    }
    default:
      break;
  }
}

void LegImpl::on_reinvite(sip_t const* sip) {
  if (!nh_) return;
  // The media side decides on the offer; answer_offer() responds (Sofia keeps the server
  // transaction meanwhile and absorbs retransmissions). A re-INVITE without SDP asks for our
  // offer: its answer comes in the ACK.
  std::string sdp = content_type_is(sip, "application/sdp") ? payload_of(sip) : std::string();
  reinvite_pending_ = true;
  offered_in_200_ = sdp.empty();
  emit(call::RemoteSdp{call::RemoteSdp::Kind::offer, std::move(sdp)});
}

void LegImpl::on_ack(sip_t const* sip) {
  if (!offered_in_200_) return;
  offered_in_200_ = false;
  if (content_type_is(sip, "application/sdp"))  // the answer to the offer in our 200
    emit(call::RemoteSdp{call::RemoteSdp::Kind::answer, payload_of(sip)});
}

// ---- outbound: SIP thread ----------------------------------------------------------------

void LegImpl::start_outbound() {
  if (state_ != State::received || nh_) return;
  send_invite();
}

void LegImpl::refuse_outbound(int code) {
  if (!end_) end_ = call::Ended{call::EndCause::failure, code};
  finish(*end_);
}

void LegImpl::send_invite() {
  bool timer = out_.session_timeout_s > 0;
  // Min-SE: RFC 4028's 90 s, or less when a shorter interval was asked for (tests).
  unsigned min_se = timer ? static_cast<unsigned>(std::min(out_.session_timeout_s, 90)) : 0;
  std::string to = bracketed(out_.request_uri);
  nh_ = nua_handle(core_.nua(), this, SIPTAG_TO_STR(to.c_str()),
                   TAG_IF(timer, NUTAG_SESSION_TIMER(static_cast<unsigned>(out_.session_timeout_s))),
                   TAG_IF(timer, NUTAG_MIN_SE(min_se)),
                   TAG_IF(timer, NUTAG_SESSION_REFRESHER(nua_local_refresher)),
                   TAG_IF(timer, SIPTAG_SUPPORTED_STR("timer")), TAG_END());
  if (!nh_) {
    spdlog::error("{}sip: outbound call {}: nua_handle failed", out_.log_context, info_.sip_call_id);
    refuse_outbound(500);
    return;
  }
  spdlog::debug("{}sip: outbound call {}: INVITE {}{}{}", out_.log_context, info_.sip_call_id,
                target_, out_.proxy.empty() ? "" : " via ", out_.proxy);
  // NUTAG_PROXY here, not on nua_handle() (where Debian's Sofia ignores it): it becomes the
  // handle's parameter, so every request of the dialog goes to the proxy (an outbound proxy:
  // the Request-URI stays the callee's).
  nua_invite(nh_, NUTAG_URL(target_.c_str()), SIPTAG_CALL_ID_STR(info_.sip_call_id.c_str()),
             TAG_IF(!out_.proxy.empty(), NUTAG_PROXY(out_.proxy.c_str())),
             SIPTAG_FROM_STR(from_.c_str()),
             TAG_IF(!contact_.empty(), SIPTAG_CONTACT_STR(contact_.c_str())),
             TAG_IF(!invite_headers_.empty(), SIPTAG_HEADER_STR(invite_headers_.c_str())),
             TAG_IF(!out_.sdp.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
             TAG_IF(!out_.sdp.empty(), SIPTAG_PAYLOAD_STR(out_.sdp.c_str())), TAG_END());
}

void LegImpl::on_invite_response(int status, char const* phrase, sip_t const* sip) {
  if (!outbound_ || state_ == State::terminated) return;
  std::string sdp = content_type_is(sip, "application/sdp") ? payload_of(sip) : std::string();
  if (answered()) {
    // The response to a re-INVITE of ours (Sofia's session refresh).
    if (status >= 200 && status < 300 && !sdp.empty() && sdp != remote_sdp_) {
      remote_sdp_ = sdp;
      emit(call::RemoteSdp{call::RemoteSdp::Kind::answer, std::move(sdp)});
    } else if (status >= 300) {
      spdlog::info("{}sip: call {}: session refresh got {} {}", out_.log_context, info_.sip_call_id,
                   status, header_text(phrase));
      refresh_failed_ = status;
    }
    return;
  }
  if (end_) return;  // cancelling: Sofia ends the call (and ACKs + BYEs a crossing 2xx)
  if (status < 200) {
    if (!sdp.empty() && sdp != remote_sdp_) {  // early media
      remote_sdp_ = sdp;
      emit(call::RemoteSdp{call::RemoteSdp::Kind::answer, std::move(sdp)});
    }
    // 100 is hop-by-hop (and Sofia reports it only sometimes): not a ringing.
    if (status > 100 && provisional_seen_.insert(status).second) emit(call::Ringing{status});
    if (status > 100) transition(State::ringing);
    return;
  }
  if (status < 300) {
    if (!sdp.empty() && sdp != remote_sdp_) {
      remote_sdp_ = sdp;
      emit(call::RemoteSdp{call::RemoteSdp::Kind::answer, std::move(sdp)});
    }
    transition(State::answered);  // Sofia ACKs; nua_callstate_ready -> Answered
    return;
  }
  if (status < 400 && follow_redirect(sip)) return;
  if ((status == 401 || status == 407) && authenticate(status, sip)) return;
  std::string reason = header_text(phrase);
  if (nta_sip_is_internal(sip)) {
    // No response from the far end: Sofia's own status (408 timeout, 503 transport error).
    end_ = call::Ended{call::EndCause::failure, status, reason};
  } else {
    end_ = call::Ended{call::EndCause::rejected, status, reason};
  }
  spdlog::debug("{}sip: outbound call {}: {} {}", out_.log_context, info_.sip_call_id, status, reason);
  if (status == 401 || status == 407) {
    // Sofia keeps a challenged INVITE waiting for credentials: no terminated state follows.
    finish(*end_);
  }
}

bool LegImpl::follow_redirect(sip_t const* sip) {
  if (nta_sip_is_internal(sip) || redirects_ >= kMaxRedirects) return false;
  url_t const* next = nullptr;
  for (sip_contact_t const* m = sip->sip_contact; m && !next; m = m->m_next)
    if (m->m_url->url_type == url_sip || m->m_url->url_type == url_sips) next = m->m_url;
  if (!next) return false;
  char buf[1024];
  issize_t n = url_e(buf, sizeof buf, next);
  if (n <= 0 || static_cast<std::size_t>(n) >= sizeof buf) return false;
  ++redirects_;
  target_.assign(buf, static_cast<std::size_t>(n));
  spdlog::info("{}sip: outbound call {}: redirected ({}/{}) to {}", out_.log_context,
               info_.sip_call_id, redirects_, kMaxRedirects, target_);
  // A new INVITE on a new handle: the old one goes without telling us more.
  nua_handle_bind(nh_, nullptr);
  nua_handle_destroy(nh_);
  nh_ = nullptr;
  provisional_seen_.clear();
  remote_sdp_.clear();
  auth_tried_ = false;
  transition(State::received);
  send_invite();
  return true;
}

bool LegImpl::authenticate(int status, sip_t const* sip) {
  if (auth_tried_ || out_.username.empty() || nta_sip_is_internal(sip) || !nh_) return false;
  msg_auth_t const* challenge = status == 401 ? sip->sip_www_authenticate : sip->sip_proxy_authenticate;
  char const* realm = challenge ? msg_params_find(challenge->au_params, "realm=") : nullptr;
  if (!challenge || !realm || !challenge->au_scheme) return false;
  auth_tried_ = true;
  std::string creds = digest_credentials(challenge->au_scheme, realm, out_.username, out_.password);
  spdlog::debug("{}sip: outbound call {}: INVITE challenged ({}), retrying as {}", out_.log_context,
                info_.sip_call_id, status, out_.username);
  nua_authenticate(nh_, NUTAG_AUTH(creds.c_str()), TAG_END());
  return true;
}

void LegImpl::on_refer_response(int status, sip_t const* sip, tagi_t tags[]) {
  if (status < 200) {
    sip_event_t const* event = nullptr;
    tl_gets(tags, NUTAG_REFER_EVENT_REF(event), TAG_END());
    if (event && event->o_id) refer_.set_event_id(event->o_id);
    return;
  }
  auto decision = refer_.on_response(status);
  if (decision.step == ReferTracker::Step::retry) {
    msg_auth_t const* challenge = nullptr;
    if (sip) challenge = status == 401 ? sip->sip_www_authenticate : sip->sip_proxy_authenticate;
    char const* realm = challenge ? msg_params_find(challenge->au_params, "realm=") : nullptr;
    if (challenge && realm && challenge->au_scheme) {
      const auto& p = refer_.params();
      std::string creds = digest_credentials(challenge->au_scheme, realm, p.username, p.password);
      spdlog::info("sip: call {}: REFER challenged ({}), retrying as {}", info_.sip_call_id, status,
                   p.username);
      nua_authenticate(nh_, NUTAG_AUTH(creds.c_str()), TAG_END());
      return;
    }
    decision = refer_.on_response(status);  // no usable challenge: report it
  }
  if (decision.step != ReferTracker::Step::report) return;
  if ((status == 401 || status == 407) && nh_) {
    // Sofia keeps a challenged request waiting for credentials, and every later request of
    // the dialog (BYE too) queues behind it. Authenticating with nothing ends it (904).
    refer_.expect_release_response();
    nua_authenticate(nh_, TAG_END());
  }
  spdlog::debug("sip: call {}: REFER response {}", info_.sip_call_id, decision.code);
  emit(call::ReferResponse{decision.code});
}

void LegImpl::on_notify(sip_t const* sip) {
  if (!sip) return;
  std::string id = sip->sip_event && sip->sip_event->o_id ? sip->sip_event->o_id : "";
  if (sip->sip_event && sip->sip_event->o_type && strcasecmp(sip->sip_event->o_type, "refer") != 0)
    return;
  if (!refer_.matches_notify(id)) {
    // Once per call at info: a far end may send many (Sofia answers each 200).
    auto level = stale_notifies_++ == 0 ? spdlog::level::info : spdlog::level::debug;
    spdlog::log(level, "sip: call {}: NOTIFY for an earlier REFER (id {}) ignored",
                info_.sip_call_id, id);
    return;
  }
  int code = parse_sipfrag_status(payload_of(sip));
  bool terminated = sip->sip_subscription_state && sip->sip_subscription_state->ss_substate &&
                    strcasecmp(sip->sip_subscription_state->ss_substate, "terminated") == 0;
  spdlog::debug("sip: call {}: NOTIFY sipfrag {}{}", info_.sip_call_id, code, terminated ? " (terminated)" : "");
  emit(call::ReferNotify{code, terminated});
}

void LegImpl::on_info(sip_t const* sip) {
  if (!sip || !sip->sip_content_type || !sip->sip_content_type->c_type) return;
  auto digit = parse_dtmf_info(sip->sip_content_type->c_type, payload_of(sip));
  if (!digit) return;
  emit(call::Dtmf{*digit, call::DtmfSource::sip_info});
}

void LegImpl::finish(call::Ended ended) {
  if (state_ == State::terminated) return;
  auto self = shared_from_this();  // core_.leg_finished() drops the map's reference
  transition(State::terminated);
  if (nh_) {
    nua_handle_bind(nh_, nullptr);
    nua_handle_destroy(nh_);
    nh_ = nullptr;
  }
  // The engine logs the end.
  spdlog::debug("sip: call {} ended: {}", info_.sip_call_id, call::to_string(ended.cause));
  if (!terminated_reported_) {
    terminated_reported_ = true;
    emit(ended);
  }
  core_.leg_finished(this);
}

void LegImpl::force_terminated() {
  nh_ = nullptr;  // nua_destroy() frees the handle
  state_ = State::terminated;
  if (!terminated_reported_) {
    terminated_reported_ = true;
    emit(call::Ended{call::EndCause::shutdown, 0});
  }
}

void LegImpl::emit(call::Event event) {
  if (!events_) {
    pending_.push_back(std::move(event));
    return;
  }
  try {
    events_->post(std::move(event));
  } catch (const std::exception& e) {
    spdlog::error("sip: call {}: event sink threw: {}", info_.sip_call_id, e.what());
  }
}

}  // namespace swmld::sip
