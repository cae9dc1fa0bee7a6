// Pieces of SIP URIs for the `call.sip_data` variables (swml-reference §4.1), which give
// URIs without their scheme: "sip:alice@example.com:5060;transport=udp" -> user "alice",
// host "example.com:5060", uri "alice@example.com:5060". Pure string code.
#pragma once

#include <string_view>

namespace swmld::app {

// The URI without its scheme and without parameters or headers (";…", "?…", ">").
// Views into `uri`: they live as long as it does.
inline std::string_view strip_scheme(std::string_view uri) {
  auto colon = uri.find(':');
  std::string_view rest = colon == std::string_view::npos ? uri : uri.substr(colon + 1);
  return rest.substr(0, rest.find_first_of(";?>"));
}

// The user part; empty when the URI has none.
inline std::string_view user_of(std::string_view uri) {
  std::string_view rest = strip_scheme(uri);
  auto at = rest.find('@');
  return at == std::string_view::npos ? std::string_view() : rest.substr(0, at);
}

// The host part, with the port when there is one.
inline std::string_view host_of(std::string_view uri) {
  std::string_view rest = strip_scheme(uri);
  auto at = rest.find('@');
  return at == std::string_view::npos ? rest : rest.substr(at + 1);
}

}  // namespace swmld::app
