// Status callbacks (design.md §3, §6): fire-and-forget JSON POSTs on top of http::Client,
// signed when a secret is configured, retried with backoff, delivered in order per URL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "swmld/http/client.hpp"

namespace swmld::http {

struct EventPosterConfig {
  std::size_t max_queue = 10000;   // posts waiting in all URL queues; beyond: dropped
  std::size_t max_per_url = 1000;  // posts waiting for one URL; beyond: dropped
  int max_retries = 3;             // on connection errors, time-outs and 5xx
  double backoff_initial_s = 0.5;
  double backoff_max_s = 8;
  double timeout_s = 5;
  double connect_timeout_s = 2;
  std::string signing_secret;  // empty: requests are not signed
  std::string signature_header;  // optional extra header: HMAC-SHA256 of the body alone
};

struct EventPosterStats {
  std::uint64_t posted = 0;     // accepted by post()
  std::uint64_t delivered = 0;  // answered 2xx
  std::uint64_t failed = 0;     // final failure after retries (or non-retryable status)
  std::uint64_t dropped = 0;    // queue full
  std::uint64_t retries = 0;
  std::uint64_t pending = 0;  // gauge: accepted, not yet delivered or failed
};

// Ordering: posts to the same URL (the exact string) are delivered one after the other in
// post() order; the next starts when the previous one finished, retries included. Different
// URLs proceed independently, so a dead URL delays only its own queue. Delivery is at least
// once (a retry after a time-out may repeat a post the server has seen).
class EventPoster {
 public:
  // `client` must outlive the poster.
  EventPoster(Client& client, EventPosterConfig config);
  // Cancels the posts in flight and drops the queued ones. A completion the client worker
  // is already running finishes against state it co-owns; it sends nothing more.
  ~EventPoster();
  EventPoster(const EventPoster&) = delete;
  EventPoster& operator=(const EventPoster&) = delete;

  // Any thread; never blocks. POSTs `json_body` with Content-Type application/json.
  // Returns false (and counts and logs a drop) when the queues are full.
  bool post(std::string url, std::string json_body);

  // Any thread but the client's worker: waits until nothing is pending or `timeout_s`
  // passed; true when drained. For graceful shutdown and tests.
  bool drain(double timeout_s);

  EventPosterStats stats() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace swmld::http
