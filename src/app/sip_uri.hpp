// Pieces of SIP URIs for the `call.sip_data` variables (swml-reference §4.1), which give
// URIs without their scheme: "sip:alice@example.com:5060;transport=udp" -> user "alice",
// host "example.com:5060", uri "alice@example.com:5060". Pure string code.
#pragma once

#include <string>

namespace swmld::app {

// The URI without its scheme and without parameters or headers (";…", "?…", ">").
inline std::string strip_scheme(const std::string& uri) {
  auto colon = uri.find(':');
  std::string rest = colon == std::string::npos ? uri : uri.substr(colon + 1);
  return rest.substr(0, rest.find_first_of(";?>"));
}

// The user part; empty when the URI has none.
inline std::string user_of(const std::string& uri) {
  std::string rest = strip_scheme(uri);
  auto at = rest.find('@');
  return at == std::string::npos ? std::string() : rest.substr(0, at);
}

// The host part, with the port when there is one.
inline std::string host_of(const std::string& uri) {
  std::string rest = strip_scheme(uri);
  auto at = rest.find('@');
  return at == std::string::npos ? rest : rest.substr(at + 1);
}

}  // namespace swmld::app
