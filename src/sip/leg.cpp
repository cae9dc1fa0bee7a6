// LegImpl: a call leg's state machine on the SIP thread (see leg.hpp); what only outbound
// legs do is in outbound.cpp.
#include "leg.hpp"

#include <spdlog/spdlog.h>

#include <cstring>

#include "message.hpp"
#include "stack_core.hpp"

namespace swmld::sip {
LegImpl::LegImpl(StackCore& core, nua_handle_t* nh, IncomingCall info, std::string contact)
    : core_(core),
      executor_(core.executor()),
      nh_(nh),
      info_(std::move(info)),
      contact_(std::move(contact)) {}

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

void LegImpl::challenge(std::string proxy_authenticate) {
  on_sip_thread([value = std::move(proxy_authenticate)](LegImpl& leg) {
    leg.do_reject(407, 0, value);
  });
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

void LegImpl::do_reject(int code, int retry_after_s, const std::string& proxy_authenticate) {
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
              TAG_IF(retry_after_s > 0, SIPTAG_RETRY_AFTER_STR(retry.c_str())),
              TAG_IF(!proxy_authenticate.empty(),
                     SIPTAG_PROXY_AUTHENTICATE_STR(proxy_authenticate.c_str())),
              TAG_END());
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
      // nua_shutdown ended an outbound leg (its CANCEL or BYE): that is a shutdown.
      if (!end_ && outbound_ && core_.shutting_down())
        end_ = call::Ended{call::EndCause::shutdown, 0};
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
