// OutboundPolicy (see outbound_policy.hpp): reading destinations and matching the rules.
#include "outbound_policy.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "sip_uri.hpp"

namespace swmld::app {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "+15551234567" or "5551234567": digits, optionally after one "+". At most 20 digits.
bool is_number(std::string_view s) {
  std::string_view digits = !s.empty() && s.front() == '+' ? s.substr(1) : s;
  return all_digits(digits) && digits.size() <= 20;
}

// A host name (labels of letters, digits and hyphens), an IPv4 address, or [IPv6].
bool is_host(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  if (h.front() == '[')
    return h.back() == ']' && h.size() > 2 && std::all_of(h.begin() + 1, h.end() - 1, [](char c) {
             return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
           });
  if (h.front() == '.' || h.back() == '.' || h.find("..") != std::string_view::npos) return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
  });
}

// The host of "host[:port]" ("[::1]:5060" -> "[::1]").
std::string_view without_port(std::string_view hostport) {
  if (!hostport.empty() && hostport.front() == '[') {
    auto end = hostport.find(']');
    return end == std::string_view::npos ? hostport : hostport.substr(0, end + 1);
  }
  return hostport.substr(0, hostport.find(':'));
}

// `number` (digits, maybe "+") as E.164, reading numbers without "+" with `country`.
std::string to_e164(std::string_view number, std::string_view country) {
  if (!number.empty() && number.front() == '+') return std::string(number);
  if (country.empty()) return {};
  if (number.substr(0, 2) == "00") return "+" + std::string(number.substr(2));
  if (country == "+1") {
    if (number.substr(0, 3) == "011") return "+" + std::string(number.substr(3));
    if (number.size() == 11 && number.front() == '1') return "+" + std::string(number);
  }
  // A national number; its trunk prefix "0" (most of the world outside the NANP) dropped.
  if (!number.empty() && number.front() == '0') number.remove_prefix(1);
  return std::string(country) + std::string(number);
}

}  // namespace

Destination read_destination(std::string_view to, std::string_view country) {
  Destination d;
  while (!to.empty() && std::isspace(static_cast<unsigned char>(to.front()))) to.remove_prefix(1);
  while (!to.empty() && std::isspace(static_cast<unsigned char>(to.back()))) to.remove_suffix(1);
  d.text = std::string(to);
  if (to.empty()) {
    d.why = "the destination is empty";
    return d;
  }
  for (std::string_view scheme : {"queue:", "stream:"}) {
    if (starts_with_ci(to, scheme)) {
      d.kind = Destination::Kind::unsupported;
      d.why = std::string(scheme.substr(0, scheme.size() - 1)) +
              " destinations are not supported by swmld (SignalWire resources)";
      return d;
    }
  }
  if (to.front() == '/') {
    d.kind = Destination::Kind::unsupported;
    d.why = "resource addresses (rooms, '/...') are not supported by swmld";
    return d;
  }
  if (starts_with_ci(to, "tel:")) to.remove_prefix(4);
  if (is_number(to)) {
    d.kind = Destination::Kind::number;
    d.number = std::string(to);
    d.e164 = to_e164(to, country);
    return d;
  }
  if (starts_with_ci(to, "sip:") || starts_with_ci(to, "sips:")) {
    std::string_view hostport = host_of(to);
    std::string_view host = without_port(hostport);
    std::string_view user = user_of(to);
    if (!is_host(host) || to.find_first_of(" \t\r\n<>\"") != std::string_view::npos) {
      d.why = "'" + d.text + "' is not a valid SIP URI";
      return d;
    }
    d.kind = Destination::Kind::sip_uri;
    d.uri = d.text;
    d.host = lower(host);
    if (host.front() == '[') d.host = d.host.substr(1, d.host.size() - 2);
    if (is_number(user)) {
      d.number = std::string(user);
      d.e164 = to_e164(user, country);
    }
    return d;
  }
  d.why = "'" + d.text + "' is neither a phone number nor a sip:/sips: URI";
  return d;
}

std::vector<std::string> default_premium_prefixes(std::string_view country) {
  if (country == "+1") {
    // 900 and 976: premium rate. The rest: NANP codes outside the US and Canada, dialled
    // like national numbers but billed as international (the "one-ring" callback scams).
    std::vector<std::string> v{"+1900", "+1976"};
    for (const char* code :
         {"242", "246", "264", "268", "284", "345", "441", "473", "649", "658", "664",
          "721", "758", "767", "784", "809", "829", "849", "868", "869", "876"})
      v.push_back(std::string("+1") + code);
    return v;
  }
  if (country == "+44") return {"+449", "+4470", "+44871", "+44872", "+44873"};
  if (country == "+33") return {"+3389", "+33836"};
  if (country == "+49") return {"+49900", "+49137"};
  if (country == "+61") return {"+61190"};
  return {};
}

Result<std::vector<OutboundPolicy::Rule>> OutboundPolicy::parse_rules(
    const std::vector<std::string>& rules, const char* key) {
  std::vector<Rule> out;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const std::string& w = rules[i];
    Rule r;
    r.written = w;
    if (!w.empty() && w.front() == '+') {
      if (!all_digits(std::string_view(w).substr(1)) || w.size() > 16)
        return make_error(ErrorCode::element_invalid_value,
                          std::string("config key '") + key + "[" + std::to_string(i) + "]': '" +
                              w + "' is not an E.164 prefix ('+' and digits, e.g. '+44')");
      r.kind = Rule::Kind::prefix;
      r.value = w;
    } else if (w.rfind("*.", 0) == 0 && is_host(std::string_view(w).substr(2)) &&
               std::string_view(w).substr(2).find_first_not_of("0123456789.") !=
                   std::string::npos) {
      r.kind = Rule::Kind::subdomains;
      r.value = lower(std::string_view(w).substr(1));  // ".example.com"
    } else if (is_host(w) && w.find(':') == std::string::npos) {
      r.kind = Rule::Kind::domain;
      r.value = lower(w);
      if (r.value.front() == '[') r.value = r.value.substr(1, r.value.size() - 2);
    } else {
      return make_error(ErrorCode::element_invalid_value,
                        std::string("config key '") + key + "[" + std::to_string(i) + "]': '" + w +
                            "' is neither an E.164 prefix ('+44') nor a SIP domain "
                            "('pbx.example.com', '*.example.com')");
    }
    out.push_back(std::move(r));
  }
  return out;
}

Result<OutboundPolicy> OutboundPolicy::make(const OutboundConfig& config) {
  OutboundPolicy p;
  p.config_ = config;
  const std::string& cc = config.country;
  if (!cc.empty() && (cc.size() < 2 || cc.size() > 4 || cc.front() != '+' ||
                      !all_digits(std::string_view(cc).substr(1)) || cc[1] == '0'))
    return make_error(
        ErrorCode::element_invalid_value,
        "config key 'outbound.country': '" + cc +
            "' is not a country calling code ('+' and 1 to 3 digits, e.g. '+1', '+44')");
  if (config.max_legs_per_call < 1 || config.max_legs_per_call > 1000)
    return make_error(ErrorCode::element_invalid_value,
                      "config key 'outbound.max_legs_per_call': must be 1 to 1000");
  if (!(config.max_legs_per_second > 0 && config.max_legs_per_second <= 100000))
    return make_error(
        ErrorCode::element_invalid_value,
        "config key 'outbound.max_legs_per_second': must be above 0 and at most 100000");
  if (!config.gateway_uri.empty()) {
    Destination g = read_destination(config.gateway_uri, {});
    if (g.kind != Destination::Kind::sip_uri)
      return make_error(ErrorCode::element_invalid_value, "config key 'outbound.gateway.uri': '" +
                                                              config.gateway_uri +
                                                              "' is not a sip:/sips: URI");
    p.gateway_hostport_ = std::string(host_of(config.gateway_uri));
    p.gateway_host_ = g.host;
  } else if (!config.gateway_username.empty() || !config.gateway_password.empty() ||
             !config.gateway_from.empty()) {
    return make_error(
        ErrorCode::element_invalid_value,
        "config key 'outbound.gateway.uri': is required by the other outbound.gateway keys");
  }
  if (!config.gateway_from.empty()) {
    Destination f = read_destination(config.gateway_from, {});
    if (f.kind != Destination::Kind::number && f.kind != Destination::Kind::sip_uri)
      return make_error(ErrorCode::element_invalid_value,
                        "config key 'outbound.gateway.from': '" + config.gateway_from +
                            "' is neither a number nor a sip:/sips: URI");
  }
  p.default_allow_ = !config.allow.has_value();
  p.default_deny_ = !config.deny.has_value();
  if (config.allow) {
    auto rules = parse_rules(*config.allow, "outbound.allow");
    if (!rules) return rules.error();
    p.allow_ = std::move(*rules);
  }
  auto deny =
      parse_rules(config.deny ? *config.deny : default_premium_prefixes(cc), "outbound.deny");
  if (!deny) return deny.error();
  p.deny_ = std::move(*deny);
  return p;
}

bool OutboundPolicy::Rule::matches(const Destination& d, bool as_number) const {
  if (as_number) return kind == Kind::prefix && !d.e164.empty() && d.e164.rfind(value, 0) == 0;
  switch (kind) {
    case Kind::prefix:
      return false;
    case Kind::domain:
      return d.host == value;
    case Kind::subdomains:
      return d.host.size() > value.size() &&
             d.host.compare(d.host.size() - value.size(), value.size(), value) == 0;
  }
  return false;
}

const OutboundPolicy::Rule* OutboundPolicy::first_match(const std::vector<Rule>& rules,
                                                        const Destination& d,
                                                        bool as_number) const {
  for (const auto& r : rules)
    if (r.matches(d, as_number)) return &r;
  return nullptr;
}

// One check of `d` as a number (its E.164 form) or as a SIP domain.
PolicyVerdict OutboundPolicy::check_one(const Destination& d, bool as_number) const {
  const std::string what = as_number ? (d.e164.empty() ? d.number : d.e164) : d.host;
  if (as_number && d.e164.empty())
    return {false, "the number '" + d.number +
                       "' has no '+' and outbound.country is not set: it cannot be checked"};
  if (const Rule* r = first_match(deny_, d, as_number))
    return {false, default_deny_
                       ? "default deny rule '" + r->written +
                             "' (premium rate for outbound.country " + config_.country + ")"
                       : "outbound.deny rule '" + r->written + "'"};
  if (!default_allow_) {
    if (first_match(allow_, d, as_number)) return {true, {}};
    return {false, "no outbound.allow rule matches " + what};
  }
  // The default allow list: every SIP domain, the numbers of outbound.country.
  if (!as_number) return {true, {}};
  if (config_.country.empty())
    return {false, "default policy: numbers need outbound.country or outbound.allow rules"};
  if (d.e164.rfind(config_.country, 0) == 0) return {true, {}};
  return {false,
          "default policy: " + what + " is not a number of outbound.country " + config_.country};
}

PolicyVerdict OutboundPolicy::check(const Destination& d) const {
  switch (d.kind) {
    case Destination::Kind::number:
      return check_one(d, true);
    case Destination::Kind::sip_uri: {
      PolicyVerdict v = check_one(d, false);
      // A number at the gateway's host is a phone call all the same: its rules apply too.
      if (v.allowed && !d.number.empty() && !gateway_host_.empty() && d.host == gateway_host_)
        return check_one(d, true);
      return v;
    }
    case Destination::Kind::unsupported:
    case Destination::Kind::invalid:
      break;
  }
  return {false, d.why};
}

std::string OutboundPolicy::describe() const {
  auto list = [](const std::vector<Rule>& rules) {
    std::string s;
    for (const auto& r : rules) s += (s.empty() ? "" : ", ") + r.written;
    return s;
  };
  std::ostringstream out;
  out << "gateway "
      << (config_.gateway_uri.empty() ? "none (numbers cannot be dialled)" : config_.gateway_uri);
  if (!config_.gateway_username.empty()) out << " (digest user " << config_.gateway_username << ")";
  out << "; allow ";
  if (default_allow_)
    out << (config_.country.empty()
                ? "any SIP domain, no number (default; outbound.country not set)"
                : "numbers of " + config_.country + ", any SIP domain (default)");
  else
    out << (allow_.empty() ? "nothing" : list(allow_));
  out << "; deny " << (deny_.empty() ? "nothing" : list(deny_))
      << (default_deny_ ? " (default)" : "");
  out << "; " << config_.max_legs_per_call << " legs/call, " << config_.max_legs_per_second
      << " legs/s";
  return out.str();
}

Status check_outbound(const OutboundConfig& config) {
  auto p = OutboundPolicy::make(config);
  if (!p) return p.error();
  return Ok{};
}

}  // namespace swmld::app
