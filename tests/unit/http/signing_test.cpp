// HMAC helpers against the RFC 2202 / RFC 4231 vectors, and the SignalWire signature input.
#include "swmld/http/signing.hpp"

#include <gtest/gtest.h>

#include <string>

namespace swmld::http {
namespace {

const std::string kLargeKeyData = "Test Using Larger Than Block-Size Key - Hash Key First";

TEST(Signing, HmacSha1MatchesRfc2202) {
  EXPECT_EQ(hmac_sha1_hex(std::string(20, '\x0b'), "Hi There"),
            "b617318655057264e28bc0b6fb378c8ef146be00");
  EXPECT_EQ(hmac_sha1_hex("Jefe", "what do ya want for nothing?"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(hmac_sha1_hex(std::string(80, '\xaa'), kLargeKeyData),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

TEST(Signing, HmacSha256MatchesRfc4231) {
  EXPECT_EQ(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_sha256_hex(std::string(131, '\xaa'), kLargeKeyData),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Signing, EmptyKeyIsAllowed) {
  EXPECT_EQ(hmac_sha256_hex("", "").size(), 64u);
}

TEST(Signing, SignatureCoversUrlWithoutCredentialsThenBody) {
  const std::string body = R"({"a":1})";
  EXPECT_EQ(signalwire_signature_sha1("key", "https://u:p@example.com/cb?x=1", body),
            hmac_sha1_hex("key", "https://example.com/cb?x=1" + body));
  EXPECT_EQ(signalwire_signature_sha256("key", "https://u:p@example.com/cb?x=1", body),
            hmac_sha256_hex("key", "https://example.com/cb?x=1" + body));
}

}  // namespace
}  // namespace swmld::http
