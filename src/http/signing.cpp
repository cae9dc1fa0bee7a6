// Hex HMAC-SHA1/SHA256 with OpenSSL and the SignalWire webhook signature built on them.
#include "swmld/http/signing.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "swmld/http/client.hpp"

namespace swmld::http {
namespace {

// Any thread. Returns "" only if OpenSSL fails, which it does not for these digests.
std::string hmac_hex(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  // A zero-length key still needs a valid pointer.
  static const unsigned char empty = 0;
  const void* key_ptr = key.empty() ? static_cast<const void*>(&empty) : key.data();
  if (HMAC(md, key_ptr, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
           &out_len) == nullptr) {
    return {};
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(out_len * 2);
  for (unsigned int i = 0; i < out_len; ++i) {
    hex.push_back(digits[out[i] >> 4]);
    hex.push_back(digits[out[i] & 0x0f]);
  }
  return hex;
}

}  // namespace

std::string hmac_sha1_hex(std::string_view key, std::string_view data) {
  return hmac_hex(EVP_sha1(), key, data);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  return hmac_hex(EVP_sha256(), key, data);
}

std::string signalwire_signature_sha1(std::string_view secret, std::string_view url,
                                      std::string_view body) {
  return hmac_sha1_hex(secret, strip_credentials(url) + std::string(body));
}

std::string signalwire_signature_sha256(std::string_view secret, std::string_view url,
                                        std::string_view body) {
  return hmac_sha256_hex(secret, strip_credentials(url) + std::string(body));
}

void add_signature_headers(std::vector<std::pair<std::string, std::string>>& headers,
                           const SigningConfig& signing, std::string_view url,
                           std::string_view body) {
  if (signing.secret.empty()) return;
  headers.emplace_back("X-Signalwire-Signature", signalwire_signature_sha1(signing.secret, url, body));
  headers.emplace_back("X-Signalwire-SHA256-Signature",
                       signalwire_signature_sha256(signing.secret, url, body));
  if (!signing.body_header.empty())
    headers.emplace_back(signing.body_header, hmac_sha256_hex(signing.secret, body));
}

}  // namespace swmld::http
