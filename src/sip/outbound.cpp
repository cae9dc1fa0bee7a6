// LegImpl, outbound side (Stack::dial): the INVITE we send and the responses to it --
// provisional (Ringing, early media), 2xx, 3xx followed, one digest retry, final failures.
// Everything after the answer is the common leg code (leg.cpp). SIP thread.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>

#include "leg.hpp"
#include "message.hpp"
#include "stack_core.hpp"

namespace swmld::sip {
namespace {

// Headers the stack writes itself: an extra header of these names is dropped (logged).
bool reserved_header(std::string_view name) {
  static constexpr const char* kReserved[] = {"via",
                                              "call-id",
                                              "i",
                                              "cseq",
                                              "from",
                                              "f",
                                              "to",
                                              "t",
                                              "contact",
                                              "m",
                                              "content-length",
                                              "l",
                                              "content-type",
                                              "c",
                                              "max-forwards",
                                              "route",
                                              "record-route",
                                              "session-expires",
                                              "x",
                                              "min-se",
                                              "supported",
                                              "k",
                                              "require",
                                              "allow",
                                              "authorization",
                                              "proxy-authorization"};
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
  nh_ =
      nua_handle(core_.nua(), this, SIPTAG_TO_STR(to.c_str()),
                 TAG_IF(timer, NUTAG_SESSION_TIMER(static_cast<unsigned>(out_.session_timeout_s))),
                 TAG_IF(timer, NUTAG_MIN_SE(min_se)),
                 TAG_IF(timer, NUTAG_SESSION_REFRESHER(nua_local_refresher)),
                 TAG_IF(timer, SIPTAG_SUPPORTED_STR("timer")), TAG_END());
  if (!nh_) {
    spdlog::error("{}sip: outbound call {}: nua_handle failed", out_.log_context,
                  info_.sip_call_id);
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
             // Debian's Sofia follows 302 and 305 itself up to NUTAG_RETRY_COUNT (3), a
             // count it shares with digest retries: off, follow_redirect() does it.
             NUTAG_AUTO302(0), NUTAG_AUTO305(0),
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
  if (!end_ && status >= 300 && core_.shutting_down()) {
    // nua_shutdown CANCELled it: the 487 is ours, not the callee's refusal.
    end_ = call::Ended{call::EndCause::shutdown, 0};
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
  spdlog::debug("{}sip: outbound call {}: {} {}", out_.log_context, info_.sip_call_id, status,
                reason);
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
  std::string target(buf, static_cast<std::size_t>(n));
  // A callee must not be able to redirect us where the toll-fraud rules forbid dialling.
  if (out_.allow_redirect) {
    std::string why = out_.allow_redirect(target);
    if (!why.empty()) {
      spdlog::warn("{}sip: outbound call {}: redirect to {} refused: {}", out_.log_context,
                   info_.sip_call_id, target, why);
      return false;
    }
  }
  ++redirects_;
  target_ = std::move(target);
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
  msg_auth_t const* challenge =
      status == 401 ? sip->sip_www_authenticate : sip->sip_proxy_authenticate;
  char const* realm = challenge ? msg_params_find(challenge->au_params, "realm=") : nullptr;
  if (!challenge || !realm || !challenge->au_scheme) return false;
  auth_tried_ = true;
  std::string creds = digest_credentials(challenge->au_scheme, realm, out_.username, out_.password);
  spdlog::debug("{}sip: outbound call {}: INVITE challenged ({}), retrying as {}", out_.log_context,
                info_.sip_call_id, status, out_.username);
  nua_authenticate(nh_, NUTAG_AUTH(creds.c_str()), TAG_END());
  return true;
}

}  // namespace swmld::sip
