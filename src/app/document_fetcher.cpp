// HTTP document fetch: request, signing, retries, validation (whatever the Content-Type), cache.
#include "document_fetcher.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "swmld/core/url.hpp"
#include "swmld/http/signing.hpp"
#include "swmld/swml/loader.hpp"

namespace swmld::app {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string header(const std::vector<std::pair<std::string, std::string>>& headers,
                   const std::string& name) {
  for (const auto& [k, v] : headers)
    if (lower(k) == name) return v;
  return {};
}

// The media type of the Content-Type header, lower case, without parameters or spaces.
std::string media_type(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string type = lower(header(headers, "content-type"));
  type = type.substr(0, type.find(';'));
  type.erase(std::remove_if(type.begin(), type.end(), [](unsigned char c) { return std::isspace(c); }),
             type.end());
  return type;
}

bool is_swml_type(const std::string& type) {
  return type == "application/json" || type == "application/yaml" || type == "text/yaml" ||
         type == "text/x-yaml" || type == "application/x-yaml";
}

// The first bytes of a body for a one-line log message: printable ASCII as it is, anything
// else (line breaks, control bytes, non-ASCII) as \n or \xNN, so no byte can break the line
// or the terminal.
std::string body_start(std::string_view body) {
  constexpr std::size_t max = 80;
  std::string out;
  for (char ch : body.substr(0, max)) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return body.size() > max ? out + "..." : out;
}

class Handle final : public engine::HttpHandle {
 public:
  explicit Handle(std::shared_ptr<http::Handle> h) : h_(std::move(h)) {}
  void cancel() override {
    if (h_) h_->cancel();
  }

 private:
  std::shared_ptr<http::Handle> h_;
};

}  // namespace

Result<swml::DocumentPtr> parse_fetched_document(
    const std::string& url, int status,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body,
    const std::string& transport_error) {
  const std::string shown = mask_credentials(url);
  if (status == 0)
    return make_error(ErrorCode::method_execute_failed,
                      "fetching " + shown + ": " + (transport_error.empty() ? "no response" : transport_error));
  if (status < 200 || status >= 300)
    return make_error(ErrorCode::method_execute_failed,
                      "fetching " + shown + ": HTTP " + std::to_string(status));
  swml::LoadOptions opts;
  opts.source_name = shown;
  auto doc = swml::load_document(body, opts);
  if (doc.ok()) return doc;
  // The body decides, not the Content-Type: SignalWire's server examples (Express
  // `res.send`, Flask returning a string) answer text/html. A SWML type, or a body shaped
  // like a document, gets the loader's own error; anything else (an HTML error page, a JSON
  // error object) is said not to be SWML at all.
  std::string type = media_type(headers);
  if (is_swml_type(type) || swml::has_document_shape(body)) return doc;
  std::string what = type.empty() ? "no Content-Type" : "Content-Type '" + type + "'";
  what += body.empty() ? ", empty body" : ", body starts '" + body_start(body) + "'";
  return make_error(ErrorCode::parse_error,
                    "fetching " + shown + ": the body is not a SWML document (" + what + ")");
}

int cache_seconds(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string cc = lower(header(headers, "cache-control"));
  if (cc.empty() || cc.find("no-store") != std::string::npos ||
      cc.find("no-cache") != std::string::npos || cc.find("private") != std::string::npos)
    return 0;
  auto number_after = [&](const std::string& key) -> int {
    auto p = cc.find(key);
    if (p == std::string::npos) return -1;
    return std::atoi(cc.c_str() + p + key.size());
  };
  int s = number_after("s-maxage=");
  if (s < 0) s = number_after("max-age=");
  return std::max(s, 0);
}

swml::DocumentPtr HttpDocumentFetcher::cached(const std::string& url) {
  std::lock_guard lock(mu_);
  auto it = cache_.find(url);
  if (it == cache_.end()) return nullptr;
  if (std::chrono::steady_clock::now() >= it->second.expires) {
    cache_.erase(it);
    return nullptr;
  }
  return it->second.document;
}

void HttpDocumentFetcher::remember(const std::string& url, swml::DocumentPtr doc, int seconds) {
  if (seconds <= 0 || config_.cache_entries == 0) return;
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (cache_.size() >= config_.cache_entries) {
    // Bounded: drop expired entries, then the one expiring first.
    for (auto it = cache_.begin(); it != cache_.end();)
      it = it->second.expires <= now ? cache_.erase(it) : std::next(it);
    if (cache_.size() >= config_.cache_entries) {
      auto first = std::min_element(cache_.begin(), cache_.end(), [](const auto& a, const auto& b) {
        return a.second.expires < b.second.expires;
      });
      cache_.erase(first);
    }
  }
  cache_[url] = Cached{std::move(doc), now + std::chrono::seconds(seconds)};
}

std::shared_ptr<engine::HttpHandle> HttpDocumentFetcher::fetch(
    const std::string& url, const Value& body, std::function<void(Result<swml::DocumentPtr>)> done) {
  if (auto doc = cached(url)) {
    done(doc);
    return nullptr;
  }
  http::Request req;
  req.method = "POST";
  req.url = url;
  req.body = body.dump(-1, ' ', false, Value::error_handler_t::replace);
  req.headers = {{"Content-Type", "application/json"},
                 {"Accept", "application/json, application/yaml, text/x-yaml"}};
  http::add_signature_headers(req.headers, {config_.signing_secret, config_.signature_header},
                              url, req.body);
  req.timeout_s = config_.timeout_s;
  req.connect_timeout_s = config_.connect_timeout_s;
  // The fetch is a POST, but the contract makes it idempotent: retry connection errors, 5xx.
  req.retry.max_retries = config_.retries;
  req.retry.on_5xx = true;
  req.retry.on_connect_error = true;
  auto h = client_.send(std::move(req), [this, url, done = std::move(done)](http::Response r) {
    auto doc = parse_fetched_document(url, r.status, r.headers, r.body, r.error);
    if (!doc) {
      spdlog::warn("document fetch failed after {} attempt(s): {}", r.attempts, doc.error().str());
    } else {
      remember(url, *doc, cache_seconds(r.headers));
    }
    done(std::move(doc));
  });
  return std::make_shared<Handle>(std::move(h));
}

}  // namespace swmld::app
