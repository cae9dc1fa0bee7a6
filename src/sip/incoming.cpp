// copy_incoming: INVITE -> IncomingCall.
#include "incoming.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace swmld::sip {
namespace {

std::string url_text(url_t const* url) {
  if (!url) return {};
  char buf[1024];
  issize_t n = url_e(buf, sizeof buf, url);
  if (n < 0 || static_cast<std::size_t>(n) >= sizeof buf) return {};
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string unquote(const char* s) {
  if (!s) return {};
  std::string v(s);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return v;
}

}  // namespace

IncomingCall copy_incoming(nua_t* nua, sip_t const* sip) {
  IncomingCall call;
  if (!sip) return call;
  if (sip->sip_call_id && sip->sip_call_id->i_id) call.sip_call_id = sip->sip_call_id->i_id;
  if (sip->sip_request) call.request_uri = url_text(sip->sip_request->rq_url);
  if (sip->sip_from) {
    call.from_uri = url_text(sip->sip_from->a_url);
    call.from_display = unquote(sip->sip_from->a_display);
  }
  if (sip->sip_to) call.to_uri = url_text(sip->sip_to->a_url);
  if (sip->sip_contact) call.contact_uri = url_text(sip->sip_contact->m_url);
  for (sip_proxy_authorization_t const* h = sip->sip_proxy_authorization; h; h = h->au_next) {
    char buf[2048];
    issize_t n = msg_header_field_e(buf, sizeof buf, reinterpret_cast<msg_header_t const*>(h), 0);
    if (n > 0 && static_cast<std::size_t>(n) < sizeof buf)
      call.proxy_authorization.emplace_back(buf, static_cast<std::size_t>(n));
  }
  for (sip_unknown_t const* h = sip->sip_unknown; h; h = h->un_next)
    if (h->un_name) call.headers.emplace_back(h->un_name, h->un_value ? h->un_value : "");
  if (sip->sip_payload && sip->sip_payload->pl_data &&
      (!sip->sip_content_type || !sip->sip_content_type->c_type ||
       strcasecmp(sip->sip_content_type->c_type, "application/sdp") == 0))
    call.remote_sdp.assign(sip->sip_payload->pl_data, sip->sip_payload->pl_len);

  if (msg_t* msg = nua_current_request(nua)) {
    if (su_addrinfo_t* ai = msg_addrinfo(msg)) {
      call.transport = ai->ai_protocol == IPPROTO_TCP ? "tcp" : "udp";
      // TLS is TCP underneath and the message does not say which listener took it: the top
      // Via's protocol tells them apart (a caller lying there only mislabels its own call).
      if (call.transport == "tcp" && sip->sip_via && sip->sip_via->v_protocol &&
          su_casematch(sip->sip_via->v_protocol, "SIP/2.0/TLS"))
        call.transport = "tls";
      char host[INET6_ADDRSTRLEN] = "";
      if (ai->ai_addr && ai->ai_addr->sa_family == AF_INET6) {
        auto* a = reinterpret_cast<sockaddr_in6 const*>(ai->ai_addr);
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        call.source_port = ntohs(a->sin6_port);
      } else if (ai->ai_addr && ai->ai_addr->sa_family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in const*>(ai->ai_addr);
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        call.source_port = ntohs(a->sin_port);
      }
      call.source_ip = host;
    }
  }
  return call;
}

}  // namespace swmld::sip
