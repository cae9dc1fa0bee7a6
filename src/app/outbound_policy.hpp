// The toll-fraud guard's rules: what connect may dial (outbound.allow / outbound.deny, or
// the default policy of outbound.country) and how the document's `to` is read. Pure: no I/O,
// no clock, no logging; OutboundDialer (outbound_dialer.hpp) applies it to every leg.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "swmld/core/error.hpp"

namespace swmld::app {

// A `to` of connect, read.
struct Destination {
  enum class Kind { number, sip_uri, unsupported, invalid };
  Kind kind = Kind::invalid;
  std::string text;    // as written, trimmed
  std::string number;  // number: as written ("+15551234567", "5551234567", "tel:" dropped);
                       // sip_uri: the user part when it is a number, else empty
  std::string e164;    // `number` as E.164 ("+15551234567"); empty when it cannot be known
                       // (no "+" and no outbound.country to read it with)
  std::string uri;     // sip_uri: the URI as written
  std::string host;    // sip_uri: the host, lowercased, without port or brackets
  std::string why;     // unsupported, invalid: what is wrong, for the log and the caller
};

// `country` is outbound.country ("+1"): it reads numbers without "+" (national numbers,
// "00"/"011" international prefixes). Any thread.
Destination read_destination(std::string_view to, std::string_view country);

struct PolicyVerdict {
  bool allowed = false;
  std::string detail;  // refused: names the rule ("outbound.deny rule '+1900'"); allowed: empty
};

class OutboundPolicy {
 public:
  // Validates the rules, the country and the gateway URI; the error names the key.
  static Result<OutboundPolicy> make(const OutboundConfig& config);

  // Whether `dest` (a number or SIP URI) may be dialled. Deny rules win over allow rules;
  // a list not given has its default (outbound_policy.cpp, docs/configuration.md).
  PolicyVerdict check(const Destination& dest) const;

  // One line for the start-up log: "gateway sip:gw.example.com; allow +1, any SIP domain;
  // deny +1900, ...; 10 legs/call, 20 legs/s". No secret.
  std::string describe() const;

  const OutboundConfig& config() const { return config_; }
  // The gateway URI's host[:port] ("gw.example.com:5080"); empty without a gateway.
  const std::string& gateway_hostport() const { return gateway_hostport_; }
  const std::string& gateway_host() const { return gateway_host_; }  // lowercased, no port

 private:
  struct Rule {
    enum class Kind { prefix, domain, subdomains } kind = Kind::prefix;
    std::string written;  // as in the configuration (for the log)
    std::string value;    // prefix "+44"; domain "pbx.example.com"; subdomains ".example.com"
    bool matches(const Destination& dest, bool as_number) const;
  };
  static Result<std::vector<Rule>> parse_rules(const std::vector<std::string>& rules,
                                               const char* key);
  const Rule* first_match(const std::vector<Rule>& rules, const Destination& dest,
                          bool as_number) const;
  PolicyVerdict check_one(const Destination& dest, bool as_number) const;

  OutboundConfig config_;
  std::vector<Rule> allow_, deny_;  // the lists in force (defaults included)
  bool default_allow_ = true;       // outbound.allow not given
  bool default_deny_ = true;        // outbound.deny not given
  std::string gateway_hostport_, gateway_host_;
};

// The premium-rate and revenue-share prefixes the default deny list holds for `country`
// ("+1": +1900, +1976 and the Caribbean codes of the NANP); empty for countries not in the
// table (docs/operations.md, "Toll fraud").
std::vector<std::string> default_premium_prefixes(std::string_view country);

// outbound.* as validate() checks it.
Status check_outbound(const OutboundConfig& config);

}  // namespace swmld::app
