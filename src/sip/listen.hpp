// Listen addresses ("udp:127.0.0.1:5060", "tls:127.0.0.1:5061"): parsing, the Sofia URLs that
// bind them, and a bind probe that names the address that is in use. Pure apart from probe_bind().
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swmld::sip {

struct ListenAddress {
  std::string transport;  // "udp", "tcp" or "tls"
  std::string host;       // without brackets: "127.0.0.1", "::1"
  int port = 0;

  bool is_ipv6() const { return host.find(':') != std::string::npos; }
  std::string host_for_uri() const;  // IPv6 in brackets
  std::string str() const;           // "udp:[::1]:5060"
};

// "udp:127.0.0.1:5060", "tcp:[::1]:5070", "tls:0.0.0.0:5061". Error text in *error.
std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string* error);

// Why the addresses cannot be bound together, or empty: a tls address needs a host:port of
// its own. (Sofia 1.12.11 takes a list such as ";transport=udp,tls" and crashes on it in
// nta_agent_add_tport: measured, a SIGSEGV in su_casematch under tport_tbind.)
std::string listen_conflict(const std::vector<ListenAddress>& addresses);

// Sofia URLs binding the addresses: one per host:port. udp and tcp together: no transport
// parameter ("sip:127.0.0.1:5060" binds both); udp or tcp alone: ";transport=udp|tcp"; tls:
// "sips:host:port" (Sofia binds tls, and only tls, for sips:). Order follows the first
// appearance of each host:port. Call listen_conflict() first.
std::vector<std::string> sofia_bind_urls(const std::vector<ListenAddress>& addresses);

// Tries to bind (and for tcp listen on) the address, then releases it. Empty on success,
// else e.g. "Address already in use". Racy by nature; it only gives a precise error message.
std::string probe_bind(const ListenAddress& address);

}  // namespace swmld::sip
