// OutboundGuard and OutboundDialer (see outbound_dialer.hpp).
#include "outbound_dialer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace swmld::app {

OutboundGuard::OutboundGuard(DialFn dial, Metrics* metrics, Clock now)
    : dial_(std::move(dial)), metrics_(metrics), now_(std::move(now)) {
  if (!now_) now_ = [] { return std::chrono::steady_clock::now(); };
  if (metrics_)
    metrics_->describe("swmld_outbound_legs_total", "counter",
                       "Outbound legs (connect) dialled or refused, by result.");
}

bool OutboundGuard::take(double rate) {
  std::lock_guard lock(mu_);
  const double size = std::max(rate, 1.0);
  const auto now = now_();
  if (tokens_ < 0) {
    tokens_ = size;
  } else {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(size, tokens_ + std::max(elapsed, 0.0) * rate);
  }
  last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

std::shared_ptr<call::CallControl> OutboundGuard::dial(sip::OutboundCall call,
                                                       std::shared_ptr<call::Events> events) const {
  if (!dial_) return nullptr;
  return dial_(std::move(call), std::move(events));
}

void OutboundGuard::count(std::string_view result) {
  if (metrics_)
    metrics_->inc("swmld_outbound_legs_total", "result=\"" + std::string(result) + "\"");
}

OutboundDialer::OutboundDialer(std::shared_ptr<const OutboundPolicy> policy,
                               std::shared_ptr<OutboundGuard> guard, DialingCall call)
    : policy_(std::move(policy)), guard_(std::move(guard)), call_(std::move(call)) {}

call::Dialed OutboundDialer::refuse(const call::DialRequest& request, std::string reason,
                                    std::string detail) {
  spdlog::warn("{} connect to '{}' refused ({}): {}", request.log_context, request.to, reason,
               detail);
  guard_->count(reason);
  return call::Dialed{nullptr, std::move(reason), std::move(detail)};
}

// `from` (a number or a URI) as the From URI; empty `from`: empty (the stack's default).
std::string OutboundDialer::from_uri(const std::string& from, bool via_gateway) const {
  if (from.empty()) return {};
  Destination f = read_destination(from, {});
  if (f.kind == Destination::Kind::sip_uri) return f.uri;
  std::string host = via_gateway ? policy_->gateway_host() : call_.local_address;
  if (host.empty()) return {};
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return "sip:" + from + "@" + host;
}

call::Dialed OutboundDialer::dial(call::DialRequest request, std::shared_ptr<call::Events> events) {
  const OutboundConfig& config = policy_->config();
  Destination dest = read_destination(request.to, config.country);
  switch (dest.kind) {
    case Destination::Kind::invalid:
      return refuse(request, "invalid", dest.why);
    case Destination::Kind::unsupported:
      return refuse(request, "unsupported", dest.why);
    case Destination::Kind::number:
      if (policy_->gateway_hostport().empty())
        return refuse(request, "unsupported",
                      "phone numbers need outbound.gateway.uri (no gateway is configured)");
      break;
    case Destination::Kind::sip_uri:
      break;
  }
  if (PolicyVerdict v = policy_->check(dest); !v.allowed)
    return refuse(request, "denied", v.detail);
  if (!request.from.empty()) {
    Destination f = read_destination(request.from, {});
    if (f.kind != Destination::Kind::number && f.kind != Destination::Kind::sip_uri)
      return refuse(request, "invalid",
                    "from '" + request.from + "' is neither a number nor a SIP URI");
  }
  if (legs_ >= config.max_legs_per_call)
    return refuse(request, "rate_limited",
                  "outbound.max_legs_per_call (" + std::to_string(config.max_legs_per_call) +
                      ") reached for this call");
  if (!guard_->take(config.max_legs_per_second))
    return refuse(request, "rate_limited",
                  "over outbound.max_legs_per_second (" +
                      fmt::format("{}", config.max_legs_per_second) + "/s)");

  const bool via_gateway = dest.kind == Destination::Kind::number;
  const bool to_gateway =
      via_gateway || (!policy_->gateway_host().empty() && dest.host == policy_->gateway_host());
  sip::OutboundCall out;
  if (via_gateway) {
    std::string scheme = config.gateway_uri.substr(0, config.gateway_uri.find(':'));
    out.request_uri = scheme + ":" + dest.number + "@" + policy_->gateway_hostport();
    out.proxy = config.gateway_uri;
  } else {
    out.request_uri = dest.uri;
  }
  if (!request.from.empty())
    out.from_uri = from_uri(request.from, via_gateway);
  else if (via_gateway && !config.gateway_from.empty())
    out.from_uri = from_uri(config.gateway_from, true);
  else
    out.from_uri = from_uri(call_.caller, via_gateway);
  out.from_display = request.from_name;
  out.headers = std::move(request.headers);
  out.sdp = std::move(request.local_sdp);
  if (!request.username.empty()) {
    out.username = request.username;
    out.password = request.password;
  } else if (to_gateway) {
    out.username = config.gateway_username;
    out.password = config.gateway_password;
  }
  out.session_timeout_s = request.session_timeout_s;
  // Redirects are checked as the destination was: a callee's 302 cannot lead to a number or
  // domain the rules refuse. (The policy is immutable and shared: safe on the SIP thread.)
  out.allow_redirect = [policy = policy_, country = config.country](const std::string& uri) {
    Destination d = read_destination(uri, country);
    if (d.kind != Destination::Kind::sip_uri) return std::string("not a SIP URI");
    PolicyVerdict v = policy->check(d);
    return v.allowed ? std::string() : v.detail;
  };
  out.log_context = request.log_context;

  ++legs_;
  spdlog::debug("{} connect to '{}': INVITE {}{}", request.log_context, request.to, out.request_uri,
                out.proxy.empty() ? "" : " via " + out.proxy);
  std::string request_uri = out.request_uri;
  auto leg = guard_->dial(std::move(out), std::move(events));
  if (!leg)
    return refuse(request, "error", "the SIP stack did not start the leg to " + request_uri);
  guard_->count("dialed");
  return call::Dialed{std::move(leg), {}, {}};
}

}  // namespace swmld::app
