// HTTP client of swmld: one libcurl multi handle driven by one worker thread of its own.
// Bounded queue, timeouts always set, bounded retries, capped responses, cancellable requests.
#pragma once

#include "swmld/core/url.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace swmld::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct ClientConfig {
  std::size_t max_queue = 10000;    // requests waiting for a transfer slot; beyond: "queue full"
  std::size_t max_in_flight = 512;  // transfers in libcurl or waiting for a retry
  long max_host_connections = 16;   // connections per host (libcurl queues the rest)
  double timeout_s = 10;            // default total time of one attempt
  double connect_timeout_s = 3;     // default connect time (TCP + TLS) of one attempt
  std::string user_agent = "swmld/0.1";
  bool verify_tls = true;  // peer and host name verification
  std::string ca_file;     // PEM bundle; empty: the system default
  std::string proxy;       // empty: no proxy, proxy environment variables ignored
  std::size_t max_response_bytes = 1 << 20;
  std::size_t max_response_headers = 64;  // further headers are dropped
  long max_redirects = 3;                 // 0: redirects are not followed
  // Destination policy, checked against the connected address of every request (redirects
  // included). Empty allowed_hosts: every host is allowed. Entries are host names
  // ("api.example.com", "*.example.com") or IP networks ("10.1.0.0/16", "::1", "127.0.0.1").
  // block_private refuses loopback, private, link-local, CGNAT, ULA and unspecified addresses
  // unless the address lies in a network listed in allowed_hosts. Default: allow everything.
  std::vector<std::string> allowed_hosts;
  bool block_private = false;
};

// Retries happen only when max_retries > 0. Backoff before retry n (1-based) is
// min(backoff_initial_s * 2^(n-1), backoff_max_s).
struct RetryPolicy {
  int max_retries = 0;
  double backoff_initial_s = 0.2;
  double backoff_max_s = 5;
  bool on_5xx = false;           // HTTP status 500..599
  bool on_connect_error = true;  // refused, unresolvable, connect timeout: nothing was sent
  // Time-outs after connecting, connection closed or reset before a full answer: the server
  // may have acted on the request, so only for idempotent requests or at-least-once events.
  bool on_transport_error = false;
};

struct Request {
  std::string method = "GET";  // any token; GET, HEAD, POST, PUT, DELETE, PATCH, ...
  std::string url;             // http(s) only; "user:password@" in it sends Basic auth
  Headers headers;             // sent as given; no Content-Type is added for a body
  std::string body;
  double timeout_s = 0;          // per attempt; <= 0: the configured default (never "none")
  double connect_timeout_s = 0;  // per attempt; <= 0: the configured default
  std::size_t max_response_bytes = 0;  // 0: the configured default (audio files need more)
  RetryPolicy retry;
};

struct Response {
  int status = 0;     // final HTTP status; 0 when no response line arrived
  Headers headers;    // of the final response: names lower-cased, values trimmed
  std::string body;   // at most max_response_bytes
  std::string error;  // non-empty: the request failed (transport, limits, policy)
  bool timed_out = false;
  int attempts = 1;
  double total_time_s = 0;  // from send() to completion, queueing and retries included

  bool ok() const { return error.empty() && status >= 200 && status < 300; }
  // First value of a header (name in lower case); nullptr when absent.
  const std::string* header(std::string_view name) const;
};

using Done = std::function<void(Response)>;

// A request handed to the client. Thread-safe.
class Handle {
 public:
  virtual ~Handle() = default;
  // Drops the request. When cancel() returns, `done` has either already returned or will
  // never be called: a call from another thread while `done` runs blocks until it returns;
  // a call from inside `done` (the worker thread) returns at once. The transfer itself is
  // removed from libcurl shortly after, on the worker thread. Idempotent.
  virtual void cancel() = 0;
  // True once `done` was called or the request was cancelled.
  virtual bool finished() const = 0;
};

struct ClientStats {
  std::uint64_t requests = 0;     // accepted by send()
  std::uint64_t completed = 0;    // `done` called (success, failure or rejection)
  std::uint64_t failures = 0;     // completed with a non-empty error (rejections included)
  std::uint64_t retries = 0;      // attempts beyond the first
  std::uint64_t queue_drops = 0;  // rejected: queue full
  std::uint64_t cancelled = 0;
  std::uint64_t in_flight = 0;  // gauge: transfers in libcurl or waiting for a retry
  std::uint64_t queued = 0;     // gauge: waiting for a transfer slot
};

class Client {
 public:
  explicit Client(ClientConfig config = {});
  ~Client();  // shutdown(); Handles may outlive the Client (cancel() is then a no-op)
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Any thread; never blocks on the network. `done` runs exactly once unless cancelled:
  // on the worker thread normally; INLINE on the calling thread, before send() returns,
  // when the request is rejected ("queue full", "client shut down"). Exceptions thrown by
  // `done` are caught and logged. Do not block inside `done`: it stalls every transfer.
  std::shared_ptr<Handle> send(Request request, Done done);

  // Stops the worker: every request not yet completed completes with error "client shut
  // down" on the worker thread, before this returns. Idempotent. Called from inside `done`
  // (the worker) it does not wait: the rest happens when `done` returns, so even destroying
  // the Client from its own callback is safe.
  void shutdown();

  ClientStats stats() const;  // any thread
  const ClientConfig& config() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// "https://user:***@host/path" for logs: the password of the URL's userinfo is masked.
using swmld::mask_credentials;  // swmld/core/url.hpp
// The URL without its "user:password@" part (what signatures are computed over).
using swmld::strip_credentials;

}  // namespace swmld::http
