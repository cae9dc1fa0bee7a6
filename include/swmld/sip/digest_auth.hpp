// Digest authentication of inbound INVITEs (routes[].auth) by Sofia-SIP's auth module: the
// "Digest" scheme with the users held in memory, the 407 challenge (Proxy-Authenticate with
// a nonce Sofia signs and checks) and the check of the INVITE's Proxy-Authorization. No
// Sofia type here (pimpl).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "swmld/core/error.hpp"
#include "swmld/sip/stack.hpp"

namespace swmld::sip {

struct DigestUser {
  std::string username;
  std::string password;  // never logged
};

class DigestAuth {
 public:
  enum class Outcome {
    accepted,   // the credentials are right: let the call in
    challenge,  // none, stale or wrong (fewer than max_failures times): 407 with the header
    forbidden,  // wrong max_failures times for this Call-ID: 403
  };
  struct Verdict {
    Outcome outcome = Outcome::challenge;
    std::string proxy_authenticate;  // challenge: the Proxy-Authenticate value to send
    std::string username;            // the user the credentials named; empty without any
    std::string reason;              // not accepted: why, for the log (never the credentials)
    int failures = 0;                // wrong credentials seen for this Call-ID so far
  };

  // `realm` non-empty; usernames unique and non-empty. Any thread.
  static Result<std::unique_ptr<DigestAuth>> create(std::string realm,
                                                    std::vector<DigestUser> users,
                                                    int max_failures = 3);
  ~DigestAuth();
  DigestAuth(const DigestAuth&) = delete;
  DigestAuth& operator=(const DigestAuth&) = delete;

  // Checks the Proxy-Authorization of `call` (IncomingCall::proxy_authorization). Wrong
  // credentials are counted per Call-ID and source for a minute: the max_failures-th is
  // forbidden, and so is every later INVITE of that Call-ID in that minute. One thread at a
  // time (the SIP thread).
  Verdict check(const IncomingCall& call);

  const std::string& realm() const;

 private:
  class Impl;
  explicit DigestAuth(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace swmld::sip
