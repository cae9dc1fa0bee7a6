// DigestAuth (see swmld/sip/digest_auth.hpp): Sofia's auth module does the Digest work
// (nonce, response, stale nonces); this file feeds it the users and counts failures.
#include "swmld/sip/digest_auth.hpp"

#include <openssl/rand.h>

#include <chrono>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include "sofia.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <sofia-sip/auth_module.h>
#include <sofia-sip/auth_plugin.h>
#include <sofia-sip/msg_header.h>
#pragma GCC diagnostic pop

namespace swmld::sip {
namespace {

// How long wrong credentials are remembered per Call-ID, and how many Call-IDs at most (a
// scanner cycling Call-IDs only ever meets challenges: nothing to gain by filling this).
constexpr auto kFailureMemory = std::chrono::seconds(60);
constexpr std::size_t kMaxTracked = 4096;

std::string header_value(msg_header_t const* h) {
  if (!h) return {};
  char buf[1024];
  issize_t n = msg_header_field_e(buf, sizeof buf, h, 0);
  if (n <= 0 || static_cast<std::size_t>(n) >= sizeof buf) return {};
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

class DigestAuth::Impl {
 public:
  std::string realm;
  std::deque<std::string> passwords;  // apw_pass points here (stable addresses)
  auth_mod_t* am = nullptr;
  int max_failures = 3;
  struct Failures {
    int count = 0;
    std::chrono::steady_clock::time_point last;
  };
  std::unordered_map<std::string, Failures> failures;

  ~Impl() {
    if (am) auth_mod_unref(am);
  }

  Failures& failures_of(const std::string& key) {
    auto now = std::chrono::steady_clock::now();
    if (failures.size() >= kMaxTracked && !failures.count(key)) {
      for (auto it = failures.begin(); it != failures.end();)
        it = now - it->second.last > kFailureMemory ? failures.erase(it) : std::next(it);
      if (failures.size() >= kMaxTracked) failures.clear();
    }
    Failures& f = failures[key];
    if (f.count && now - f.last > kFailureMemory) f.count = 0;
    return f;
  }
};

Result<std::unique_ptr<DigestAuth>> DigestAuth::create(std::string realm,
                                                       std::vector<DigestUser> users,
                                                       int max_failures) {
  if (realm.empty()) return make_error(ErrorCode::element_invalid_value, "the realm is empty");
  if (realm.find('"') != std::string::npos)
    return make_error(ErrorCode::element_invalid_value, "the realm holds a '\"'");
  auto impl = std::make_unique<Impl>();
  impl->realm = std::move(realm);
  impl->max_failures = max_failures < 1 ? 1 : max_failures;
  // A random key signs the nonces (Sofia's HMAC): nonces of another process, or of this
  // route before a reload, are not accepted and get a fresh challenge.
  unsigned char key[16];
  if (RAND_bytes(key, sizeof key) != 1)
    return make_error(ErrorCode::internal_error, "no random bytes for the nonce key");
  static const char hex[] = "0123456789abcdef";
  std::string master;
  for (unsigned char b : key) master += {hex[b >> 4], hex[b & 15]};
  // No su_root: the Digest scheme never waits (no database to read, no remote check).
  impl->am = auth_mod_create(nullptr, AUTHTAG_METHOD("Digest"), AUTHTAG_REALM(impl->realm.c_str()),
                             AUTHTAG_QOP("auth"), AUTHTAG_MASTER_KEY(master.c_str()),
                             AUTHTAG_FORBIDDEN(0), TAG_END());
  if (!impl->am)
    return make_error(ErrorCode::internal_error, "Sofia's auth module could not be created");
  std::unordered_set<std::string> seen;
  for (auto& user : users) {
    if (user.username.empty())
      return make_error(ErrorCode::element_invalid_value, "a user has no username");
    if (!seen.insert(user.username).second)
      return make_error(ErrorCode::element_invalid_value,
                        "the username '" + user.username + "' is given twice");
    auth_passwd_t* apw = auth_mod_addpass(impl->am, user.username.c_str(), impl->realm.c_str());
    if (!apw) return make_error(ErrorCode::internal_error, "Sofia's auth module refused a user");
    impl->passwords.push_back(std::move(user.password));
    apw->apw_pass = impl->passwords.back().c_str();
  }
  return std::unique_ptr<DigestAuth>(new DigestAuth(std::move(impl)));
}

DigestAuth::DigestAuth(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DigestAuth::~DigestAuth() = default;

const std::string& DigestAuth::realm() const {
  return impl_->realm;
}

DigestAuth::Verdict DigestAuth::check(const IncomingCall& call) {
  Verdict v;
  su_home_t home[1] = {SU_HOME_INIT(home)};
  // The INVITE's Proxy-Authorization headers, parsed again and chained as Sofia expects.
  msg_auth_t* credentials = nullptr;
  msg_auth_t** tail = &credentials;
  for (const auto& text : call.proxy_authorization) {
    sip_proxy_authorization_t* h = sip_proxy_authorization_make(home, text.c_str());
    if (!h) continue;
    *tail = h;
    tail = &h->au_next;
  }
  auth_status_t* as = auth_status_new(home);
  as->as_realm = impl_->realm.c_str();
  as->as_method = "INVITE";
  auth_challenger_t const ach = {SIP_407_PROXY_AUTH_REQUIRED, sip_proxy_authenticate_class,
                                 nullptr};
  auth_mod_verify(impl_->am, as, credentials, &ach);

  if (as->as_match) {
    // The username of the credentials Sofia used (for the log).
    auto* au = reinterpret_cast<msg_auth_t const*>(as->as_match);
    if (char const* user = msg_params_find(au->au_params, "username=")) {
      v.username = user;
      if (v.username.size() >= 2 && v.username.front() == '"' && v.username.back() == '"')
        v.username = v.username.substr(1, v.username.size() - 2);
    }
  }
  const std::string key = call.sip_call_id + '\n' + call.source_ip;
  if (as->as_status == 0) {
    v.outcome = Outcome::accepted;
    impl_->failures.erase(key);
  } else if (!as->as_match || as->as_stale) {
    // No credentials for this realm, or a nonce past its time: challenge, not a failure.
    v.reason = as->as_match ? "stale nonce" : "no credentials";
    auto it = impl_->failures.find(key);
    if (it != impl_->failures.end() && it->second.count >= impl_->max_failures &&
        std::chrono::steady_clock::now() - it->second.last <= kFailureMemory) {
      v.outcome = Outcome::forbidden;
      v.failures = it->second.count;
      v.reason = "too many failed attempts";
    } else {
      v.outcome = Outcome::challenge;
      v.proxy_authenticate = header_value(as->as_response);
    }
  } else {
    Impl::Failures& f = impl_->failures_of(key);
    ++f.count;
    f.last = std::chrono::steady_clock::now();
    v.failures = f.count;
    v.reason = as->as_status == 400
                   ? std::string("malformed credentials: ") + (as->as_phrase ? as->as_phrase : "")
                   : "wrong credentials";
    if (f.count >= impl_->max_failures) {
      v.outcome = Outcome::forbidden;
    } else {
      v.outcome = Outcome::challenge;
      if (!as->as_response) {
        // A 400 from Sofia carries no challenge: ask for one.
        auth_mod_challenge(impl_->am, as, &ach);
      }
      v.proxy_authenticate = header_value(as->as_response);
    }
  }
  if (v.outcome == Outcome::challenge && v.proxy_authenticate.empty()) {
    v.outcome = Outcome::forbidden;
    v.reason = "no challenge could be built";
  }
  su_home_deinit(home);
  return v;
}

}  // namespace swmld::sip
