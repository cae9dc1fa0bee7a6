// EventPoster: status callbacks as per-URL FIFOs of JSON POSTs on top of http::Client.
// One post per URL is in flight at a time; the client does the retries with backoff.
#include "swmld/http/event_poster.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "swmld/http/signing.hpp"

namespace swmld::http {

namespace {

// Set around Client::send() on the sending thread, so that a completion the client runs
// inline (rejection: queue full, shut down) is captured instead of recursing.
struct InlineCapture {
  const void* owner = nullptr;
  Response response;
  bool captured = false;
};
thread_local InlineCapture* tl_capture = nullptr;

}  // namespace

// Shared with the completions in flight (they hold a weak_ptr), so a completion that is
// already running when the poster goes away finishes against live state.
class EventPoster::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(Client& client, EventPosterConfig config) : client_(client), config_(std::move(config)) {}

  void close();  // the owner's thread: no new sends; cancels what is in flight

  bool post(std::string url, std::string body);
  bool drain(double timeout_s);
  EventPosterStats stats() const;

 private:
  struct UrlQueue {
    std::deque<std::string> bodies;  // front: in flight (when busy)
    bool busy = false;               // a pump owns this queue
    std::uint64_t seq = 0;           // bumps when the front finishes
    std::shared_ptr<Handle> in_flight;
  };

  void pump(const std::string& url);                 // poster or worker thread
  void on_done(const std::string& url, Response r);  // worker thread (or pump, when inline)
  Request make_request(const std::string& url, const std::string& body) const;

  Client& client_;
  const EventPosterConfig config_;

  mutable std::mutex mutex_;
  std::condition_variable idle_cv_;
  std::unordered_map<std::string, UrlQueue> urls_;
  std::uint64_t pending_ = 0;
  bool closed_ = false;
  std::uint64_t drops_unlogged_ = 0;
  std::chrono::steady_clock::time_point last_drop_log_{};
  EventPosterStats stats_;  // counters under mutex_; pending mirrors pending_
};

void EventPoster::Impl::close() {
  std::vector<std::shared_ptr<Handle>> handles;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    for (auto& [url, q] : urls_) {
      if (q.in_flight) handles.push_back(q.in_flight);
    }
    if (pending_ > 0) spdlog::warn("callbacks: {} pending post(s) abandoned at close", pending_);
  }
  // Outside the lock: a running completion needs it, and cancel() waits for that completion.
  for (const auto& h : handles) h->cancel();
}

bool EventPoster::Impl::post(std::string url, std::string body) {
  bool start = false;
  std::uint64_t dropped = 0;  // to log now
  bool accepted = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return false;
    auto it = urls_.find(url);
    std::size_t waiting_here = it == urls_.end() ? 0 : it->second.bodies.size();
    if (pending_ >= config_.max_queue || waiting_here >= config_.max_per_url) {
      ++stats_.dropped;
      ++drops_unlogged_;
      // One line per second at most, however many are dropped: a flood must not flood logs.
      auto now = std::chrono::steady_clock::now();
      if (now - last_drop_log_ >= std::chrono::seconds(1)) {
        last_drop_log_ = now;
        dropped = drops_unlogged_;
        drops_unlogged_ = 0;
      }
    } else {
      if (it == urls_.end()) it = urls_.emplace(url, UrlQueue{}).first;
      it->second.bodies.push_back(std::move(body));
      ++pending_;
      ++stats_.posted;
      start = !it->second.busy;
      it->second.busy = true;
      accepted = true;
    }
  }
  if (!accepted) {
    if (dropped > 0) {
      spdlog::warn("callbacks: {} post(s) dropped, queue full (latest to {})", dropped,
                   mask_credentials(url));
    }
    return false;
  }
  if (start) pump(url);
  return true;
}

Request EventPoster::Impl::make_request(const std::string& url, const std::string& body) const {
  Request rq;
  rq.method = "POST";
  rq.url = url;
  rq.body = body;
  rq.headers.emplace_back("Content-Type", "application/json");
  add_signature_headers(rq.headers, {config_.signing_secret, config_.signature_header}, url, body);
  rq.timeout_s = config_.timeout_s;
  rq.connect_timeout_s = config_.connect_timeout_s;
  rq.retry.max_retries = config_.max_retries;
  rq.retry.backoff_initial_s = config_.backoff_initial_s;
  rq.retry.backoff_max_s = config_.backoff_max_s;
  rq.retry.on_5xx = true;
  rq.retry.on_connect_error = true;
  rq.retry.on_transport_error = true;  // at-least-once delivery
  return rq;
}

void EventPoster::Impl::pump(const std::string& url) {
  for (;;) {
    Request rq;
    std::uint64_t seq = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = urls_.find(url);
      if (it == urls_.end()) return;
      UrlQueue& q = it->second;
      if (closed_ || q.bodies.empty()) {
        q.busy = false;
        if (q.bodies.empty()) urls_.erase(it);
        return;
      }
      rq = make_request(url, q.bodies.front());
      seq = q.seq;
    }
    InlineCapture capture;
    capture.owner = this;
    InlineCapture* previous = tl_capture;
    tl_capture = &capture;
    std::weak_ptr<Impl> weak = weak_from_this();
    std::shared_ptr<Handle> h = client_.send(std::move(rq), [weak, url](Response r) {
      std::shared_ptr<Impl> self = weak.lock();
      if (!self) return;  // the poster is gone
      if (tl_capture != nullptr && tl_capture->owner == self.get()) {
        tl_capture->response = std::move(r);
        tl_capture->captured = true;
        return;
      }
      self->on_done(url, std::move(r));
      self->pump(url);
    });
    tl_capture = previous;
    if (capture.captured) {
      on_done(url, std::move(capture.response));
      continue;  // the next post of this URL, without recursion
    }
    bool cancel_now = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = urls_.find(url);
      if (closed_) {
        cancel_now = true;
      } else if (it != urls_.end() && it->second.seq == seq) {
        it->second.in_flight = h;  // unless it already completed on the worker
      }
    }
    if (cancel_now) h->cancel();
    return;
  }
}

void EventPoster::Impl::on_done(const std::string& url, Response r) {
  bool ok = r.ok();
  if (!ok) {
    std::string reason = r.error.empty() ? "HTTP status " + std::to_string(r.status) : r.error;
    if (r.attempts == 0) {
      spdlog::warn("callback to {} not sent: {}", mask_credentials(url), reason);
    } else {
      spdlog::warn("callback to {} failed after {} attempt(s): {}", mask_credentials(url),
                   r.attempts, reason);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ok) {
      ++stats_.delivered;
    } else {
      ++stats_.failed;
    }
    if (r.attempts > 1) stats_.retries += static_cast<std::uint64_t>(r.attempts - 1);
    auto it = urls_.find(url);
    if (it != urls_.end() && !it->second.bodies.empty()) {
      it->second.bodies.pop_front();
      ++it->second.seq;
      it->second.in_flight.reset();
      --pending_;
    }
  }
  idle_cv_.notify_all();
}

bool EventPoster::Impl::drain(double timeout_s) {
  std::unique_lock<std::mutex> lock(mutex_);
  return idle_cv_.wait_for(lock, std::chrono::duration<double>(timeout_s),
                           [this] { return pending_ == 0; });
}

EventPosterStats EventPoster::Impl::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  EventPosterStats s = stats_;
  s.pending = pending_;
  return s;
}

// ---------------------------------------------------------------------------------------

EventPoster::EventPoster(Client& client, EventPosterConfig config)
    : impl_(std::make_shared<Impl>(client, std::move(config))) {}

EventPoster::~EventPoster() {
  impl_->close();
}

bool EventPoster::post(std::string url, std::string json_body) {
  return impl_->post(std::move(url), std::move(json_body));
}

bool EventPoster::drain(double timeout_s) {
  return impl_->drain(timeout_s);
}

EventPosterStats EventPoster::stats() const {
  return impl_->stats();
}

}  // namespace swmld::http
