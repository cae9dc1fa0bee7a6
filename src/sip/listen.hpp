// Listen addresses ("udp:127.0.0.1:5060"): parsing, the Sofia URLs that bind them, and a
// bind probe that names the address that is in use. Pure apart from probe_bind().
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swmld::sip {

struct ListenAddress {
  std::string transport;  // "udp" or "tcp"
  std::string host;       // without brackets: "127.0.0.1", "::1"
  int port = 0;

  bool is_ipv6() const { return host.find(':') != std::string::npos; }
  std::string host_for_uri() const;  // IPv6 in brackets
  std::string str() const;           // "udp:[::1]:5060"
};

// "udp:127.0.0.1:5060", "tcp:[::1]:5070", "udp:0.0.0.0:5060". Error text in *error.
std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string* error);

// Sofia URLs binding the addresses: one per host:port, without a transport parameter when
// both udp and tcp are wanted there ("sip:127.0.0.1:5060" binds both), with
// ";transport=udp|tcp" otherwise. Order follows the first appearance of each host:port.
std::vector<std::string> sofia_bind_urls(const std::vector<ListenAddress>& addresses);

// Tries to bind (and for tcp listen on) the address, then releases it. Empty on success,
// else e.g. "Address already in use". Racy by nature; it only gives a precise error message.
std::string probe_bind(const ListenAddress& address);

}  // namespace swmld::sip
