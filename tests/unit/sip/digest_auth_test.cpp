// DigestAuth: Sofia's auth module challenges, accepts the right digest answer (computed here
// as a client would, RFC 2617 with qop=auth), challenges wrong ones and forbids the third.
#include "swmld/sip/digest_auth.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <map>
#include <regex>

namespace swmld::sip {
namespace {

std::string md5_hex(const std::string& text) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), out, &n, EVP_md5(), nullptr);
  static const char hex[] = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < n; ++i) s += {hex[out[i] >> 4], hex[out[i] & 15]};
  return s;
}

std::map<std::string, std::string> params(const std::string& challenge) {
  std::map<std::string, std::string> p;
  std::regex re(R"re((\w+)=("([^"]*)"|[^,\s]+))re");
  for (auto it = std::sregex_iterator(challenge.begin(), challenge.end(), re);
       it != std::sregex_iterator(); ++it)
    p[(*it)[1]] = (*it)[3].matched ? (*it)[3].str() : (*it)[2].str();
  return p;
}

// The Proxy-Authorization a client sends for `challenge`.
std::string answer(const std::string& challenge, const std::string& user,
                   const std::string& password) {
  auto p = params(challenge);
  const std::string uri = "sip:trunk@127.0.0.1", cnonce = "0a4f113b", nc = "00000001";
  std::string ha1 = md5_hex(user + ":" + p["realm"] + ":" + password);
  std::string ha2 = md5_hex("INVITE:" + uri);
  std::string response = md5_hex(ha1 + ":" + p["nonce"] + ":" + nc + ":" + cnonce + ":auth:" + ha2);
  return "Digest username=\"" + user + "\", realm=\"" + p["realm"] + "\", nonce=\"" + p["nonce"] +
         "\", uri=\"" + uri + "\", response=\"" + response + "\", algorithm=MD5, cnonce=\"" +
         cnonce + "\", qop=auth, nc=" + nc;
}

IncomingCall invite(std::vector<std::string> credentials = {}) {
  IncomingCall c;
  c.sip_call_id = "abc@1";
  c.source_ip = "192.0.2.1";
  c.proxy_authorization = std::move(credentials);
  return c;
}

std::unique_ptr<DigestAuth> make() {
  auto a = DigestAuth::create("swmld", {{"alice", "s3cret"}, {"bob", "other"}});
  EXPECT_TRUE(a.ok());
  return a.ok() ? std::move(*a) : nullptr;
}

TEST(DigestAuth, NoCredentialsGetAChallenge) {
  auto auth = make();
  DigestAuth::Verdict v = auth->check(invite());
  EXPECT_EQ(v.outcome, DigestAuth::Outcome::challenge);
  EXPECT_EQ(v.reason, "no credentials");
  EXPECT_EQ(v.proxy_authenticate.rfind("Digest ", 0), 0u) << v.proxy_authenticate;
  EXPECT_EQ(params(v.proxy_authenticate)["realm"], "swmld");
  EXPECT_EQ(params(v.proxy_authenticate)["qop"], "auth");
  EXPECT_FALSE(params(v.proxy_authenticate)["nonce"].empty());
}

TEST(DigestAuth, TheRightAnswerIsAccepted) {
  auto auth = make();
  std::string challenge = auth->check(invite()).proxy_authenticate;
  DigestAuth::Verdict v = auth->check(invite({answer(challenge, "bob", "other")}));
  EXPECT_EQ(v.outcome, DigestAuth::Outcome::accepted);
  EXPECT_EQ(v.username, "bob");
}

TEST(DigestAuth, WrongAnswersAreChallengedThenForbidden) {
  auto auth = make();
  std::string challenge = auth->check(invite()).proxy_authenticate;
  for (int attempt = 1; attempt <= 2; ++attempt) {
    DigestAuth::Verdict v = auth->check(invite({answer(challenge, "alice", "wrong")}));
    EXPECT_EQ(v.outcome, DigestAuth::Outcome::challenge);
    EXPECT_EQ(v.failures, attempt);
    EXPECT_EQ(v.reason, "wrong credentials");
    EXPECT_EQ(v.username, "alice");
    challenge = v.proxy_authenticate;
  }
  DigestAuth::Verdict v = auth->check(invite({answer(challenge, "alice", "wrong")}));
  EXPECT_EQ(v.outcome, DigestAuth::Outcome::forbidden);
  EXPECT_EQ(v.failures, 3);
  // The same Call-ID without credentials is forbidden too; another Call-ID is challenged.
  EXPECT_EQ(auth->check(invite()).outcome, DigestAuth::Outcome::forbidden);
  IncomingCall other = invite();
  other.sip_call_id = "def@1";
  EXPECT_EQ(auth->check(other).outcome, DigestAuth::Outcome::challenge);
}

TEST(DigestAuth, AnUnknownUserIsAWrongAnswer) {
  auto auth = make();
  std::string challenge = auth->check(invite()).proxy_authenticate;
  DigestAuth::Verdict v = auth->check(invite({answer(challenge, "mallory", "s3cret")}));
  EXPECT_EQ(v.outcome, DigestAuth::Outcome::challenge);
  EXPECT_EQ(v.failures, 1);
}

TEST(DigestAuth, ANonceOfAnotherInstanceIsNotAccepted) {
  auto first = make();
  auto second = make();
  std::string challenge = first->check(invite()).proxy_authenticate;
  EXPECT_NE(second->check(invite({answer(challenge, "alice", "s3cret")})).outcome,
            DigestAuth::Outcome::accepted);
}

TEST(DigestAuth, BadConfigurationIsAnError) {
  EXPECT_FALSE(DigestAuth::create("", {{"a", "b"}}).ok());
  EXPECT_FALSE(DigestAuth::create("r", {{"a", "b"}, {"a", "c"}}).ok());
  EXPECT_FALSE(DigestAuth::create("r", {{"", "b"}}).ok());
}

}  // namespace
}  // namespace swmld::sip
