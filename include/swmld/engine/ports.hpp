// The seams between the interpreter and the outside world (design.md §2).
// The engine drives a call only through these interfaces; the SIP leg, the simulator and the
// unit-test fakes implement them. The composition root (src/app) adapts the sip/http modules.
//
// Threading contract: the engine calls every port method on the call's strand, and port
// methods never block. Results come back through CallEvents (thread-safe: the engine's
// implementation posts each event to the call's strand) or through completion callbacks,
// which may run on any thread (the engine posts them to the strand itself).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "swmld/core/error.hpp"
#include "swmld/core/value.hpp"
#include "swmld/swml/document.hpp"

namespace swmld::engine {

// `fetch_failed`: the call's document could not be fetched before it was answered (the SIP
// side rejects with the configured code, 503 + Retry-After by default).
enum class HangupReason { hangup, busy, decline, error, fetch_failed };

// The SIP status that rejects an unanswered call for each reason (after answer: a BYE).
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

struct ReferRequest {
  std::string to_uri;
  std::string referred_by;  // URI for the Referred-By header; empty: the call's local URI
  std::string username;     // digest credentials for a 401/407 challenge; may be empty
  std::string password;     // never logged
};

// What the signalling side reports about one call. Implemented by the engine.
class CallEvents {
 public:
  virtual ~CallEvents() = default;
  virtual void on_answered() = 0;                          // the dialog is confirmed
  virtual void on_hangup(std::string reason) = 0;          // the far end ended the call
  // The final response to our REFER (after any digest retry): 202 accepted, >=300 rejected.
  virtual void on_refer_response(int code) = 0;
  // A NOTIFY of the REFER's implicit subscription. `sipfrag_code` is the status code of the
  // message/sipfrag body (0 when it had none); `terminated` is Subscription-State: terminated.
  virtual void on_refer_notify(int sipfrag_code, bool terminated) = 0;
  virtual void on_dtmf(char digit) = 0;
};

// Signalling of one call.
class CallControl {
 public:
  virtual ~CallControl() = default;
  virtual void ring() = 0;                               // 180 Ringing (once)
  virtual void answer() = 0;                             // 200 OK -> on_answered / on_hangup
  virtual void hangup(HangupReason reason) = 0;          // reject before answer, BYE after
  virtual void refer(const ReferRequest& request) = 0;   // -> on_refer_response, on_refer_notify
  virtual void send_digits(const std::string& digits) = 0;  // RFC 4733 or SIP INFO
};

struct PlayRequest {
  std::vector<std::string> urls;  // playable sounds: say:, silence:, ring:, http(s)://
  double volume = 0;
  std::string say_voice;
  std::string say_language;
  std::string say_gender;
};

// Media of one call. `done` runs once (any thread) with an empty string on success or the
// reason of the failure.
class MediaControl {
 public:
  virtual ~MediaControl() = default;
  virtual void play(const PlayRequest& request, std::function<void(std::string error)> done) = 0;
  virtual void stop() = 0;  // stops what plays; its `done` still runs
};

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
