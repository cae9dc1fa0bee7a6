// Request signing for webhooks and status callbacks (swml-reference.md §5): hex HMACs.
#pragma once

#include <string>
#include <string_view>

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

}  // namespace swmld::http
