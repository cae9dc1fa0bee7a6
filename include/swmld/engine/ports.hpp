// The seams between the interpreter and the outside world (design.md §2). A call's legs are
// reached through the call contract (swmld/call/contract.hpp: CallControl for signalling,
// MediaControl for media, Events back); the shared services through the interfaces below.
// The SIP leg, the media session, the simulator and the unit-test fakes implement them; the
// composition root (src/app) wires them.
//
// Threading contract: the engine calls every port method on the call's strand, and port
// methods never block. Results come back as call events (posted to the call's strand by the
// engine's sink) or through completion callbacks, which may run on any thread (the engine
// posts them to the strand itself).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "swmld/call/contract.hpp"
#include "swmld/core/error.hpp"
#include "swmld/core/value.hpp"
#include "swmld/swml/document.hpp"

namespace swmld::engine {

// `fetch_failed`: the call's document could not be fetched before it was answered (the SIP
// side rejects with the configured code, 503 + Retry-After by default).
enum class HangupReason { hangup, busy, decline, error, fetch_failed };

// The SIP status that rejects an unanswered call for each reason (after answer: a BYE).
// fetch_failed uses EngineConfig::fetch_failure_code instead.
constexpr int reject_code(HangupReason r) {
  switch (r) {
    case HangupReason::busy: return 486;     // Busy Here
    case HangupReason::decline: return 603;  // Decline
    case HangupReason::error: return 500;    // Server Internal Error
    case HangupReason::fetch_failed: return 503;  // Service Unavailable
    case HangupReason::hangup: break;
  }
  return 480;  // Temporarily Unavailable
}

constexpr const char* to_string(HangupReason r) {
  switch (r) {
    case HangupReason::busy: return "busy";
    case HangupReason::decline: return "decline";
    case HangupReason::error: return "error";
    case HangupReason::fetch_failed: return "fetch_failed";
    case HangupReason::hangup: break;
  }
  return "hangup";
}

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  double timeout_s = 0;          // 0: the client's configured default
  double connect_timeout_s = 0;  // 0: the client's configured default
};

struct HttpResponse {
  int status = 0;                 // 0 when no response arrived
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string error;              // transport failure (timeout, refused, TLS, too large...)
  bool timed_out = false;
};

// A request in flight; cancel() drops its completion (best effort).
class HttpHandle {
 public:
  virtual ~HttpHandle() = default;
  virtual void cancel() = 0;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual std::shared_ptr<HttpHandle> send(HttpRequest request,
                                           std::function<void(HttpResponse)> done) = 0;
};

// Status callbacks (`status_url`): fire and forget, delivered even after the call ended.
class EventPoster {
 public:
  virtual ~EventPoster() = default;
  virtual void post_event(const std::string& url, Value body) = 0;
};

// Loads documents named by URL for `execute` / `transfer` (and URL routes): POSTs `body`
// ({call, vars, envs, params}) and parses the answer. `done` runs once, on any thread.
class DocumentFetcher {
 public:
  virtual ~DocumentFetcher() = default;
  virtual std::shared_ptr<HttpHandle> fetch(const std::string& url, const Value& body,
                                            std::function<void(Result<swml::DocumentPtr>)> done) = 0;
};

}  // namespace swmld::engine
