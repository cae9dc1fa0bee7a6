// LegImpl: the inbound call state machine on the SIP thread (see leg.hpp).
#include "leg.hpp"

#include <spdlog/spdlog.h>

#include <cstring>

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

LegImpl::LegImpl(StackCore& core, nua_handle_t* nh, Setup setup)
    : core_(core),
      executor_(core.executor()),
      nh_(nh),
      info_(std::move(setup.info)),
      offer_(std::move(setup.offer)),
      choice_(std::move(setup.choice)),
      contact_(std::move(setup.contact)) {
  local_.address = std::move(setup.local_host);
  local_.session_id = setup.session_id;
  local_.version = setup.session_id;
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

// ---- Leg API: any thread, hops to the SIP thread ------------------------------------------

void LegImpl::set_observer(std::shared_ptr<LegObserver> observer) {
  executor_->run([self = shared_from_this(), observer = std::move(observer)] {
    self->observer_ = observer;
    if (!observer) return;
    auto pending = std::move(self->pending_);
    self->pending_.clear();
    for (auto& event : pending) event(*observer);
  });
}

void LegImpl::ring() {
  executor_->run([self = shared_from_this()] { self->do_ring(); });
}

void LegImpl::answer() {
  executor_->run([self = shared_from_this()] { self->do_answer(); });
}

void LegImpl::reject(int code, std::string phrase, int retry_after_s) {
  executor_->run([self = shared_from_this(), code, phrase = std::move(phrase), retry_after_s] {
    self->do_reject(code, phrase, retry_after_s);
  });
}

void LegImpl::bye() {
  executor_->run([self = shared_from_this()] { self->do_bye(); });
}

void LegImpl::refer(ReferParams params) {
  executor_->run(
      [self = shared_from_this(), params = std::move(params)]() mutable { self->do_refer(std::move(params)); });
}

void LegImpl::send_dtmf_info(std::string digits) {
  executor_->run([self = shared_from_this(), digits = std::move(digits)] { self->do_info(digits); });
}

// ---- actions: SIP thread ------------------------------------------------------------------

void LegImpl::do_ring() {
  if (!nh_ || state_ != State::received) return;
  nua_respond(nh_, SIP_180_RINGING, SIPTAG_CONTACT_STR(contact_.c_str()), TAG_END());
  transition(State::ringing);
}

void LegImpl::do_answer() {
  if (!nh_ || (state_ != State::received && state_ != State::ringing)) return;
  rtp_port_ = core_.ports().acquire();
  if (!rtp_port_) {
    spdlog::warn("sip: call {}: no free RTP port, rejecting", info_.sip_call_id);
    do_reject(503, "No Media Port", 0);
    return;
  }
  local_.port = *rtp_port_;
  const auto& cfg = core_.config();
  local_sdp_ = offer_ ? render_answer(*offer_, *choice_, local_)
                      : render_offer(cfg.codecs, cfg.ptime_ms, local_);
  nua_respond(nh_, SIP_200_OK, SIPTAG_CONTACT_STR(contact_.c_str()),
              SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(local_sdp_.c_str()),
              TAG_END());
  transition(State::answered);
}

void LegImpl::do_reject(int code, const std::string& phrase, int retry_after_s) {
  if (!nh_) return;
  if (answered()) {
    do_bye();
    return;
  }
  if (state_ != State::received && state_ != State::ringing) return;
  if (code < 300 || code > 699) code = 500;
  std::string retry = std::to_string(retry_after_s);
  if (end_reason_.empty()) end_reason_ = "local";
  // nua_respond() queues the response and keeps the phrase pointer (only the tags are
  // copied): the text must outlive this call, so a caller's phrase is kept in the leg.
  reject_phrase_ = phrase;
  const char* text = reject_phrase_.empty() ? sip_status_phrase(code) : reject_phrase_.c_str();
  nua_respond(nh_, code, text ? text : "Rejected",
              TAG_IF(retry_after_s > 0, SIPTAG_RETRY_AFTER_STR(retry.c_str())), TAG_END());
  transition(State::terminating);
}

void LegImpl::do_bye() {
  if (!nh_) return;
  if (!answered()) {
    do_reject(480, "Temporarily Unavailable", 0);
    return;
  }
  if (end_reason_.empty()) end_reason_ = "local";
  nua_bye(nh_, TAG_END());
  transition(State::terminating);
}

void LegImpl::do_refer(ReferParams params) {
  if (!nh_ || state_ != State::confirmed || refer_.waiting_response()) {
    spdlog::warn("sip: call {}: REFER not sent (state {}{})", info_.sip_call_id, name(state_),
                 refer_.waiting_response() ? ", another REFER pending" : "");
    notify([](LegObserver& o) { o.on_refer_response(0); });
    return;
  }
  if (params.referred_by.empty()) params.referred_by = info_.to_uri;
  auto bracket = [](const std::string& uri) {
    return uri.find('<') == std::string::npos ? "<" + uri + ">" : uri;
  };
  std::string refer_to = bracket(params.to_uri);
  std::string referred_by = bracket(params.referred_by);
  // Per-call SIP lines are debug (the refer_result record is the info-level summary).
  spdlog::debug("sip: call {}: REFER to {}", info_.sip_call_id, params.to_uri);
  refer_.start(std::move(params));
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
      on_reinvite(nua, sip);
      break;
    case nua_i_ack:
      if (!offer_ && content_type_is(sip, "application/sdp"))  // late offer: the answer
        spdlog::debug("sip: call {}: SDP answer in ACK ({} bytes)", info_.sip_call_id,
                      payload_of(sip).size());
      break;
    case nua_i_cancel:
      if (end_reason_.empty()) end_reason_ = "cancel";
      break;
    case nua_i_bye:
      if (end_reason_.empty()) end_reason_ = "hangup";
      break;
    case nua_i_error:
      // 408 "ACK Timeout": no ACK for our 200 within 64*T1; Sofia sends BYE itself.
      if (status == 408 && state_ == State::answered && end_reason_.empty()) end_reason_ = "ack_timeout";
      spdlog::info("sip: call {}: error {} {}", info_.sip_call_id, status, header_text(phrase));
      break;
    case nua_r_refer:
      on_refer_response(status, sip, tags);
      break;
    case nua_i_notify:
      if (status < 300) on_notify(sip);  // >= 300: Sofia refused it (e.g. 481 unknown id)
      break;
    case nua_i_info:
      on_info(sip);
      break;
    case nua_i_refer:  // transfers of us are not supported
      nua_respond(nh_, SIP_603_DECLINE, NUTAG_WITH_THIS(nua), TAG_END());
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
      if (state_ == State::answered) transition(State::confirmed);
      if (!answered_reported_ && state_ == State::confirmed) {
        answered_reported_ = true;
        notify([](LegObserver& o) { o.on_answered(); });
      }
      break;
    case nua_callstate_terminating:
      if (state_ != State::terminated) transition(State::terminating);
      break;
    case nua_callstate_terminated: {
      std::string reason = end_reason_;
      if (reason.empty()) reason = status >= 300 ? "error:" + std::to_string(status) : "hangup";
      finish(reason);
      break;
    }
    default:
      break;
  }
}

void LegImpl::on_reinvite(nua_t* nua, sip_t const* sip) {
  if (!nh_) return;
  if (content_type_is(sip, "application/sdp")) {
    auto offer = parse_sdp(payload_of(sip));
    std::string reason = "unparsable SDP";
    std::optional<MediaChoice> choice;
    if (offer) choice = choose_media(*offer, core_.config().codecs, core_.config().ptime_ms, &reason);
    if (!choice) {
      spdlog::info("sip: call {}: re-INVITE refused: {}", info_.sip_call_id, reason);
      nua_respond(nh_, SIP_488_NOT_ACCEPTABLE, NUTAG_WITH_THIS(nua), TAG_END());
      return;
    }
    offer_ = std::move(offer);
    choice_ = std::move(choice);
    ++local_.version;
    local_sdp_ = render_answer(*offer_, *choice_, local_);
  } else {
    // No offer: ours goes in the 200 (the previous description, new version).
    ++local_.version;
    local_sdp_ = offer_ ? render_answer(*offer_, *choice_, local_)
                        : render_offer(core_.config().codecs, core_.config().ptime_ms, local_);
  }
  nua_respond(nh_, SIP_200_OK, NUTAG_WITH_THIS(nua), SIPTAG_CONTACT_STR(contact_.c_str()),
              SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(local_sdp_.c_str()),
              TAG_END());
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
  int code = decision.code;
  notify([code](LegObserver& o) { o.on_refer_response(code); });
}

void LegImpl::on_notify(sip_t const* sip) {
  if (!sip) return;
  std::string id = sip->sip_event && sip->sip_event->o_id ? sip->sip_event->o_id : "";
  if (sip->sip_event && sip->sip_event->o_type && strcasecmp(sip->sip_event->o_type, "refer") != 0)
    return;
  if (!refer_.matches_notify(id)) {
    spdlog::info("sip: call {}: NOTIFY for an earlier REFER (id {}) ignored", info_.sip_call_id, id);
    return;
  }
  int code = parse_sipfrag_status(payload_of(sip));
  bool terminated = sip->sip_subscription_state && sip->sip_subscription_state->ss_substate &&
                    strcasecmp(sip->sip_subscription_state->ss_substate, "terminated") == 0;
  spdlog::debug("sip: call {}: NOTIFY sipfrag {}{}", info_.sip_call_id, code, terminated ? " (terminated)" : "");
  notify([code, terminated](LegObserver& o) { o.on_refer_notify(code, terminated); });
}

void LegImpl::on_info(sip_t const* sip) {
  if (!sip || !sip->sip_content_type || !sip->sip_content_type->c_type) return;
  auto digit = parse_dtmf_info(sip->sip_content_type->c_type, payload_of(sip));
  if (!digit) return;
  char d = *digit;
  notify([d](LegObserver& o) { o.on_dtmf(d); });
}

void LegImpl::finish(const std::string& reason) {
  if (state_ == State::terminated) return;
  auto self = shared_from_this();  // core_.leg_finished() drops the map's reference
  transition(State::terminated);
  if (rtp_port_) {
    core_.ports().release(*rtp_port_);
    rtp_port_.reset();
  }
  if (nh_) {
    nua_handle_bind(nh_, nullptr);
    nua_handle_destroy(nh_);
    nh_ = nullptr;
  }
  spdlog::debug("sip: call {} ended: {}", info_.sip_call_id, reason);  // the engine logs the end
  if (!terminated_reported_) {
    terminated_reported_ = true;
    notify([reason](LegObserver& o) { o.on_terminated(reason); });
  }
  core_.leg_finished(this);
}

void LegImpl::force_terminated(const std::string& reason) {
  nh_ = nullptr;  // nua_destroy() frees the handle
  if (rtp_port_) {
    core_.ports().release(*rtp_port_);
    rtp_port_.reset();
  }
  state_ = State::terminated;
  if (!terminated_reported_) {
    terminated_reported_ = true;
    notify([reason](LegObserver& o) { o.on_terminated(reason); });
  }
}

void LegImpl::notify(std::function<void(LegObserver&)> event) {
  if (!observer_) {
    pending_.push_back(std::move(event));
    return;
  }
  auto observer = observer_;  // the callback may replace it
  try {
    event(*observer);
  } catch (const std::exception& e) {
    spdlog::error("sip: call {}: observer threw: {}", info_.sip_call_id, e.what());
  }
}

}  // namespace swmld::sip
