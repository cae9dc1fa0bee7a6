// Fetching SWML documents over HTTP (swml-reference §5): POST {call, vars, envs, params},
// accept JSON or YAML whatever the Content-Type, validate with the URL as the file name, cache
// by URL when the server allows it (Cache-Control max-age). The parse step is shared with
// `swmld simulate --http-fixture`, so fixtures and real servers take the same path.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "swmld/engine/ports.hpp"
#include "swmld/http/client.hpp"

namespace swmld::app {

// An HTTP answer -> a validated document. Errors name the URL (credentials masked): transport
// failures and non-2xx statuses are relay_script_method_execute_failed. Any Content-Type is
// accepted for a body that is SWML (text/html included: that is what SignalWire's server
// examples send); an invalid document carries the loader's code and URL:line:col. A body that
// is no SWML document at all (an HTML error page) under a Content-Type other than JSON/YAML is
// relay_script_parse_error naming the Content-Type and the body's first bytes (escaped).
Result<swml::DocumentPtr> parse_fetched_document(
    const std::string& url, int status,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body,
    const std::string& transport_error);

// Seconds a response may be reused: Cache-Control max-age (s-maxage wins), 0 when absent or
// when no-store/no-cache/private forbid it.
int cache_seconds(const std::vector<std::pair<std::string, std::string>>& headers);

struct FetchConfig {
  int retries = 2;                 // on connection errors and 5xx, with backoff
  double timeout_s = 10;           // per attempt
  double connect_timeout_s = 3;
  std::string signing_secret;      // X-Signalwire-Signature / -SHA256-Signature when set
  std::string signature_header;    // optional extra header: HMAC-SHA256 of the body alone
  std::size_t cache_entries = 256; // documents kept by URL (0: no cache)
};

class HttpDocumentFetcher final : public engine::DocumentFetcher {
 public:
  HttpDocumentFetcher(http::Client& client, FetchConfig config)
      : client_(client), config_(std::move(config)) {}

  // Any thread; `done` runs once on the HTTP worker (or inline for a cache hit).
  std::shared_ptr<engine::HttpHandle> fetch(
      const std::string& url, const Value& body,
      std::function<void(Result<swml::DocumentPtr>)> done) override;

 private:
  struct Cached {
    swml::DocumentPtr document;
    std::chrono::steady_clock::time_point expires;
  };
  swml::DocumentPtr cached(const std::string& url);
  void remember(const std::string& url, swml::DocumentPtr doc, int seconds);

  http::Client& client_;
  FetchConfig config_;
  std::mutex mu_;
  std::map<std::string, Cached> cache_;
};

}  // namespace swmld::app
