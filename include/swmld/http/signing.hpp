// Request signing for webhooks and status callbacks (swml-reference.md §5): hex HMACs.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace swmld::http {

// Lower-case hex HMAC-SHA1 / HMAC-SHA256 of `data` with `key` (OpenSSL).
std::string hmac_sha1_hex(std::string_view key, std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// Value of X-Signalwire-Signature / X-Signalwire-SHA256-Signature for a request to `url`
// with `body`: the HMAC of the URL without embedded credentials, followed by the raw body.
std::string signalwire_signature_sha1(std::string_view secret, std::string_view url,
                                      std::string_view body);
std::string signalwire_signature_sha256(std::string_view secret, std::string_view url,
                                        std::string_view body);

struct SigningConfig {
  std::string secret;       // empty: nothing is signed
  std::string body_header;  // optional extra header: hex HMAC-SHA256 of the body alone
};

// Adds the signature headers of a request to `url` with `body`: X-Signalwire-Signature and
// X-Signalwire-SHA256-Signature (URL + body), and `body_header` (body only) when named.
void add_signature_headers(std::vector<std::pair<std::string, std::string>>& headers,
                           const SigningConfig& signing, std::string_view url,
                           std::string_view body);

}  // namespace swmld::http
