// http::Client: a bounded queue in front of one libcurl multi handle, driven by one worker
// thread. Every libcurl call on a handle of this client happens on that thread.
#include "swmld/http/client.hpp"

#include <curl/curl.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "swmld/core/thread_name.hpp"
#include "swmld/http/host_policy.hpp"

namespace swmld::http {

using Clock = std::chrono::steady_clock;

namespace {

// Runs a completion once; an exception from it is logged, never let out of the worker.
void invoke(Done fn, Response response) {
  if (!fn) return;
  try {
    fn(std::move(response));
  } catch (const std::exception& e) {
    spdlog::error("http: completion callback threw: {}", e.what());
  } catch (...) {
    spdlog::error("http: completion callback threw");
  }
}

constexpr long kMaxPollMs = 1000;

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

long to_ms(double seconds, double fallback) {
  double s = seconds > 0 ? seconds : fallback;
  if (!(s > 0)) s = 10;  // a configuration of 0 still never means "no timeout"
  return std::max(1L, std::lround(s * 1000));
}

bool valid_token(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  });
}

bool valid_header_value(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::once_flag g_curl_init;  // curl_global_init once per process (libcurl requires it)

}  // namespace

const std::string* Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

// One request: the Handle given to the caller and the worker's bookkeeping.
class Transfer final : public Handle, public std::enable_shared_from_this<Transfer> {
 public:
  ~Transfer() override {
    if (easy_ != nullptr) curl_easy_cleanup(easy_);
    curl_slist_free_all(header_list_);
  }

  void cancel() override;  // any thread
  bool finished() const override { return finished_.load(); }

  // Worker thread. Takes the easy handle (already removed from the multi handle) back,
  // for the client to reuse or free.
  CURL* release_curl() {
    CURL* e = easy_;
    easy_ = nullptr;
    curl_slist_free_all(header_list_);
    header_list_ = nullptr;
    return e;
  }

  // Set by send(), read-only afterwards.
  Request request_;
  Clock::time_point created_ = Clock::now();
  std::weak_ptr<Client::Impl> client_;

  // `done` is moved out and run under cb_mutex_; cancel() takes the same lock, which is how
  // "no callback after cancel() returns" holds. Recursive: cancel() from inside `done`.
  std::recursive_mutex cb_mutex_;
  Done done_;
  std::atomic<bool> finished_{false};

  // Worker thread only.
  enum class Where { queued, active, retry_wait, done };
  Where where_ = Where::queued;
  CURL* easy_ = nullptr;
  curl_slist* header_list_ = nullptr;
  char errbuf_[CURL_ERROR_SIZE] = {};
  Response response_;
  std::string abort_reason_;  // why one of our C callbacks stopped the transfer
  int attempts_ = 0;
  Clock::time_point retry_at_;
  std::size_t max_body_ = 0;
  std::size_t max_headers_ = 0;
  const HostPolicy* policy_ = nullptr;
};

class Client::Impl : public std::enable_shared_from_this<Impl> {
 public:
  explicit Impl(ClientConfig config);
  ~Impl();

  std::shared_ptr<Handle> send(std::shared_ptr<Impl> self, Request request, Done done);
  void shutdown();
  void request_cancel(std::shared_ptr<Transfer> t);  // any thread
  bool on_worker() const { return std::this_thread::get_id() == worker_id_.load(); }
  ClientStats stats() const;
  const ClientConfig& config() const { return config_; }

  void start();  // constructor's thread: starts the worker

 private:
  void run();  // worker
  void start_attempt(const std::shared_ptr<Transfer>& t);
  std::string setup(Transfer& t);  // worker; "" or the reason it failed
  void on_attempt_done(CURL* easy, CURLcode rc);
  void complete(const std::shared_ptr<Transfer>& t, Response response);
  void drop(const std::shared_ptr<Transfer>& t);  // worker: cancelled
  void fail_all_on_shutdown();
  void publish_gauges();
  void recycle(Transfer& t);  // worker: the transfer's easy handle back into easy_pool_

  void complete_inline(Transfer& t, Response response);  // the caller's thread

  // C callbacks from libcurl (worker thread); never throw.
  static size_t on_body(char* data, size_t size, size_t n, void* user);
  static size_t on_header(char* data, size_t size, size_t n, void* user);
  static int on_prereq(void* user, char* primary_ip, char* local_ip, int primary_port,
                       int local_port);

  const ClientConfig config_;
  HostPolicy policy_;
  CURLM* multi_ = nullptr;
  // The worker's wake-up, polled next to libcurl's sockets: an eventfd costs the waking
  // thread less than curl_multi_wakeup()'s socket pair.
  int wake_fd_ = -1;
  void wake_worker() const { ::eventfd_write(wake_fd_, 1); }
  std::thread worker_;
  std::atomic<std::thread::id> worker_id_{};

  // Guarded by mutex_: the queue, cancellations and the stop request.
  mutable std::mutex mutex_;
  std::deque<std::shared_ptr<Transfer>> queue_;
  std::vector<std::shared_ptr<Transfer>> cancels_;
  bool stopping_ = false;

  // Guarded by mutex_ too: whether the worker is (about to be) asleep in curl_multi_poll,
  // and whether somebody has woken it already. A request queued while the worker is awake
  // needs no wake-up: the worker looks at the queue before it sleeps.
  bool worker_asleep_ = false;
  bool wake_sent_ = false;

  // Worker thread only.
  // Easy handles of finished transfers, reset and ready for the next request: reusing them
  // keeps libcurl's per-handle buffers instead of allocating them for every request.
  static constexpr std::size_t kEasyPoolMax = 64;
  std::vector<CURL*> easy_pool_;
  std::unordered_map<CURL*, std::shared_ptr<Transfer>> active_;
  std::vector<std::shared_ptr<Transfer>> waiting_;  // backing off before a retry

  struct Counters {
    std::atomic<std::uint64_t> requests{0}, completed{0}, failures{0}, retries{0}, queue_drops{0},
        cancelled{0}, in_flight{0}, queued{0};
  };
  mutable Counters counters_;
};

// ---------------------------------------------------------------------------------------

void Transfer::cancel() {
  Done dropped;  // destroyed after the lock is released: its captures may do anything
  {
    std::lock_guard<std::recursive_mutex> lock(cb_mutex_);
    if (finished_.exchange(true)) return;
    dropped = std::move(done_);
  }
  if (auto impl = client_.lock()) impl->request_cancel(shared_from_this());
}

Client::Impl::Impl(ClientConfig config) : config_(std::move(config)) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::string error;
  policy_ = HostPolicy::make(config_.allowed_hosts, config_.block_private, &error);
  if (!error.empty()) spdlog::error("http: {}", error);
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  if ((info->features & CURL_VERSION_ASYNCHDNS) == 0) {
    spdlog::warn("http: libcurl has no asynchronous resolver; DNS look-ups block the worker");
  }
  multi_ = curl_multi_init();
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) spdlog::critical("http: eventfd: {}", std::strerror(errno));
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, config_.max_host_connections);
}

Client::Impl::~Impl() {
  // The worker has stopped: joined, or it was the last owner. A Handle may be one too.
  for (CURL* e : easy_pool_) curl_easy_cleanup(e);
  if (multi_ != nullptr) curl_multi_cleanup(multi_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Client::Impl::start() {
  // The worker co-owns the state, so a shutdown from its own callback cannot free it early.
  worker_ = std::thread([self = shared_from_this()] {
    name_this_thread("swmld-http");
    self->run();
  });
  worker_id_.store(worker_.get_id());
}

std::shared_ptr<Handle> Client::Impl::send(std::shared_ptr<Impl> self, Request request, Done done) {
  auto t = std::make_shared<Transfer>();
  t->request_ = std::move(request);
  t->done_ = std::move(done);
  t->client_ = self;
  t->max_body_ = t->request_.max_response_bytes > 0 ? t->request_.max_response_bytes
                                                    : config_.max_response_bytes;
  t->max_headers_ = config_.max_response_headers;
  t->policy_ = &policy_;

  std::string rejected;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {
      rejected = "client shut down";
    } else if (queue_.size() >= config_.max_queue) {
      rejected = "queue full";
    } else {
      queue_.push_back(t);
      counters_.queued.store(queue_.size());
      wake = worker_asleep_ && !wake_sent_;
      wake_sent_ = wake_sent_ || wake;
    }
  }
  if (rejected.empty()) {
    counters_.requests.fetch_add(1);
    if (wake) wake_worker();
    return t;
  }
  if (rejected == "queue full") {
    counters_.queue_drops.fetch_add(1);
    spdlog::debug("http: {} {} rejected: queue full ({} waiting)", t->request_.method,
                  mask_credentials(t->request_.url), config_.max_queue);
  }
  Response r;
  r.error = rejected;
  r.attempts = 0;
  complete_inline(*t, std::move(r));
  return t;
}

void Client::Impl::complete_inline(Transfer& t, Response response) {
  // The handle is not yet in the caller's hands: nothing can race with this.
  t.finished_.store(true);
  counters_.completed.fetch_add(1);
  counters_.failures.fetch_add(1);
  invoke(std::move(t.done_), std::move(response));
}

void Client::Impl::request_cancel(std::shared_ptr<Transfer> t) {
  counters_.cancelled.fetch_add(1);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancels_.push_back(std::move(t));
  }
  wake_worker();
}

void Client::Impl::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_worker();
  if (on_worker()) {
    // From inside a callback: the worker stops after it returns and frees the state itself.
    if (worker_.joinable()) worker_.detach();
    return;
  }
  if (worker_.joinable()) worker_.join();
}

ClientStats Client::Impl::stats() const {
  ClientStats s;
  s.requests = counters_.requests.load();
  s.completed = counters_.completed.load();
  s.failures = counters_.failures.load();
  s.retries = counters_.retries.load();
  s.queue_drops = counters_.queue_drops.load();
  s.cancelled = counters_.cancelled.load();
  s.in_flight = counters_.in_flight.load();
  s.queued = counters_.queued.load();
  return s;
}

void Client::Impl::publish_gauges() {
  counters_.in_flight.store(active_.size() + waiting_.size());
}

// Worker thread: the whole life of every transfer.
void Client::Impl::run() {
  for (;;) {
    std::vector<std::shared_ptr<Transfer>> incoming;
    std::vector<std::shared_ptr<Transfer>> cancels;
    bool stop = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      worker_asleep_ = false;  // awake since curl_multi_poll returned; it looks at the queue now
      wake_sent_ = false;
      stop = stopping_;
      cancels.swap(cancels_);
      std::size_t busy = active_.size() + waiting_.size();
      while (!stop && busy < config_.max_in_flight && !queue_.empty()) {
        incoming.push_back(std::move(queue_.front()));
        queue_.pop_front();
        ++busy;
      }
      counters_.queued.store(queue_.size());
    }
    for (const auto& t : cancels) drop(t);
    if (stop) break;

    for (const auto& t : incoming) {
      if (t->finished()) continue;  // cancelled while queued
      start_attempt(t);
    }
    Clock::time_point now = Clock::now();
    for (std::size_t i = 0; i < waiting_.size();) {
      if (waiting_[i]->retry_at_ <= now) {
        std::shared_ptr<Transfer> t = std::move(waiting_[i]);
        waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(i));
        start_attempt(t);
      } else {
        ++i;
      }
    }

    int running = 0;
    curl_multi_perform(multi_, &running);
    bool progressed = false;
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg == CURLMSG_DONE) {
        on_attempt_done(msg->easy_handle, msg->data.result);
        progressed = true;
      }
    }
    publish_gauges();

    long timeout_ms = -1;
    curl_multi_timeout(multi_, &timeout_ms);
    if (timeout_ms < 0 || timeout_ms > kMaxPollMs) timeout_ms = kMaxPollMs;
    now = Clock::now();
    for (const auto& t : waiting_) {
      auto due = std::chrono::duration_cast<std::chrono::milliseconds>(t->retry_at_ - now);
      timeout_ms = std::min<long>(timeout_ms, std::max<long>(0, due.count() + 1));
    }
    if (progressed) timeout_ms = 0;  // freed slots may admit queued requests
    {
      // Requests queued since the top of the loop (by other threads, or by a completion
      // this thread ran) are taken now; otherwise senders learn that a wake-up is needed.
      std::lock_guard<std::mutex> lock(mutex_);
      bool admissible =
          !queue_.empty() && active_.size() + waiting_.size() < config_.max_in_flight;
      if (admissible || stopping_ || !cancels_.empty()) timeout_ms = 0;
      worker_asleep_ = timeout_ms != 0;
    }
    curl_waitfd wake{wake_fd_, CURL_WAIT_POLLIN, 0};
    curl_multi_poll(multi_, &wake, 1, static_cast<int>(timeout_ms), nullptr);
    if ((wake.revents & CURL_WAIT_POLLIN) != 0) {
      eventfd_t ignored = 0;
      ::eventfd_read(wake_fd_, &ignored);
    }
  }
  fail_all_on_shutdown();
}

void Client::Impl::fail_all_on_shutdown() {
  std::vector<std::shared_ptr<Transfer>> all;
  for (auto& [easy, t] : active_) {
    curl_multi_remove_handle(multi_, easy);
    all.push_back(t);
  }
  active_.clear();
  for (auto& t : waiting_) all.push_back(std::move(t));
  waiting_.clear();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& t : queue_) all.push_back(std::move(t));
    queue_.clear();
    cancels_.clear();
    counters_.queued.store(0);
  }
  publish_gauges();
  for (const auto& t : all) {
    Response r;
    r.error = "client shut down";
    r.attempts = t->attempts_;
    complete(t, std::move(r));
  }
}

void Client::Impl::drop(const std::shared_ptr<Transfer>& t) {
  if (t->where_ == Transfer::Where::active) {
    curl_multi_remove_handle(multi_, t->easy_);
    active_.erase(t->easy_);
  } else if (t->where_ == Transfer::Where::retry_wait) {
    std::erase(waiting_, t);
  }
  if (t->where_ != Transfer::Where::queued) t->where_ = Transfer::Where::done;
  recycle(*t);
}

void Client::Impl::recycle(Transfer& t) {
  CURL* e = t.release_curl();
  if (e == nullptr) return;
  if (easy_pool_.size() < kEasyPoolMax) {
    curl_easy_reset(e);  // every option back to its default; the buffers stay
    easy_pool_.push_back(e);
  } else {
    curl_easy_cleanup(e);
  }
}

void Client::Impl::start_attempt(const std::shared_ptr<Transfer>& t) {
  if (t->easy_ == nullptr) {
    std::string error = setup(*t);
    if (!error.empty()) {
      Response r;
      r.error = std::move(error);
      r.attempts = 0;
      complete(t, std::move(r));
      return;
    }
  }
  ++t->attempts_;
  t->response_ = Response{};
  t->abort_reason_.clear();
  t->errbuf_[0] = '\0';
  CURLMcode mc = curl_multi_add_handle(multi_, t->easy_);
  if (mc != CURLM_OK) {
    Response r;
    r.error = std::string("libcurl: ") + curl_multi_strerror(mc);
    r.attempts = t->attempts_;
    complete(t, std::move(r));
    return;
  }
  t->where_ = Transfer::Where::active;
  active_[t->easy_] = t;
}

std::string Client::Impl::setup(Transfer& t) {
  Request& rq = t.request_;
  std::string method = rq.method.empty() ? std::string("GET") : rq.method;
  std::transform(method.begin(), method.end(), method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (!valid_token(method)) return "invalid HTTP method";
  rq.method = method;
  if (rq.url.empty()) return "empty URL";

  bool has_content_type = false;
  bool has_expect = false;
  for (const auto& [name, value] : rq.headers) {
    if (!valid_token(name) || !valid_header_value(value)) {
      return "invalid header " + (valid_token(name) ? name : std::string("name"));
    }
    std::string lname = to_lower(name);
    has_content_type |= lname == "content-type";
    has_expect |= lname == "expect";
    std::string line = value.empty() ? name + ";" : name + ": " + value;  // "X;" sends "X:"
    t.header_list_ = curl_slist_append(t.header_list_, line.c_str());
  }
  // libcurl would otherwise label a body as a form and ask for 100-continue on large ones.
  if (!rq.body.empty() && !has_content_type) {
    t.header_list_ = curl_slist_append(t.header_list_, "Content-Type:");
  }
  if (!has_expect) t.header_list_ = curl_slist_append(t.header_list_, "Expect:");

  CURL* e = nullptr;
  if (!easy_pool_.empty()) {
    e = easy_pool_.back();
    easy_pool_.pop_back();
  } else {
    e = curl_easy_init();
  }
  if (e == nullptr) return "libcurl: cannot create a transfer";
  t.easy_ = e;
  curl_easy_setopt(e, CURLOPT_PRIVATE, static_cast<void*>(&t));
  curl_easy_setopt(e, CURLOPT_URL, rq.url.c_str());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf_);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, config_.max_redirects > 0 ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, config_.max_redirects);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, to_ms(rq.timeout_s, config_.timeout_s));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   to_ms(rq.connect_timeout_s, config_.connect_timeout_s));
  curl_easy_setopt(e, CURLOPT_USERAGENT, config_.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, config_.verify_tls ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, config_.verify_tls ? 2L : 0L);
  if (!config_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, config_.ca_file.c_str());
  curl_easy_setopt(e, CURLOPT_PROXY, config_.proxy.c_str());  // "" disables env proxies
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");           // what libcurl can decode
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(t.max_body_));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, static_cast<void*>(&t));
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, static_cast<void*>(&t));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.header_list_);
  if (policy_.restricts()) {
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, &Impl::on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, static_cast<void*>(&t));
  }

  if (method == "GET" && rq.body.empty()) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else {
    if (method == "POST") {
      curl_easy_setopt(e, CURLOPT_POST, 1L);
    } else {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    if (method == "POST" || !rq.body.empty()) {
      // The body lives in t.request_ until the transfer is released.
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(rq.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq.body.c_str());
    }
  }
  return {};
}

size_t Client::Impl::on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  try {
    if (t->response_.body.size() + len > t->max_body_) {
      t->abort_reason_ = "response body larger than " + std::to_string(t->max_body_) + " bytes";
      return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
    }
    t->response_.body.append(data, len);
    return len;
  } catch (...) {
    t->abort_reason_ = "out of memory";
    return 0;
  }
}

size_t Client::Impl::on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  try {
    std::string_view line(data, len);
    if (line.rfind("HTTP/", 0) == 0) {
      t->response_.headers.clear();  // a new response (after a redirect or a 1xx)
      return len;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return len;  // the blank line, or junk
    if (t->response_.headers.size() >= t->max_headers_) return len;
    std::string name = to_lower(trim(line.substr(0, colon)));
    if (name.empty()) return len;
    t->response_.headers.emplace_back(std::move(name), std::string(trim(line.substr(colon + 1))));
    return len;
  } catch (...) {
    t->abort_reason_ = "out of memory";
    return 0;
  }
}

int Client::Impl::on_prereq(void* user, char* primary_ip, char* /*local_ip*/, int /*primary_port*/,
                            int /*local_port*/) {
  auto* t = static_cast<Transfer*>(user);
  try {
    // The host of the URL being requested now (after any redirect).
    char* effective = nullptr;
    curl_easy_getinfo(t->easy_, CURLINFO_EFFECTIVE_URL, &effective);
    std::string host;
    if (CURLU* u = curl_url()) {
      char* h = nullptr;
      if (effective != nullptr && curl_url_set(u, CURLUPART_URL, effective, 0) == CURLUE_OK &&
          curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK) {
        host = h;
      }
      curl_free(h);
      curl_url_cleanup(u);
    }
    std::string reason = t->policy_->check(host, primary_ip != nullptr ? primary_ip : "");
    if (reason.empty()) return CURL_PREREQFUNC_OK;
    t->abort_reason_ = std::move(reason);
  } catch (...) {
    t->abort_reason_ = "destination check failed";
  }
  return CURL_PREREQFUNC_ABORT;
}

void Client::Impl::on_attempt_done(CURL* easy, CURLcode rc) {
  auto it = active_.find(easy);
  if (it == active_.end()) return;
  std::shared_ptr<Transfer> t = std::move(it->second);
  active_.erase(it);
  curl_multi_remove_handle(multi_, easy);

  Response& r = t->response_;
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  r.status = static_cast<int>(code);
  r.attempts = t->attempts_;
  if (rc != CURLE_OK) {
    if (!t->abort_reason_.empty()) {
      r.error = t->abort_reason_;
    } else if (rc == CURLE_FILESIZE_EXCEEDED) {
      r.error = "response body larger than " + std::to_string(t->max_body_) + " bytes";
    } else {
      r.error = t->errbuf_[0] != '\0' ? std::string(t->errbuf_) : curl_easy_strerror(rc);
    }
    r.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
  }

  // Did anything reach the server? Nothing did when the request was never sent.
  curl_off_t pretransfer = 0;
  curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
  const RetryPolicy& p = t->request_.retry;
  bool connect_error = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                       rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_SSL_CONNECT_ERROR ||
                       (rc == CURLE_OPERATION_TIMEDOUT && pretransfer == 0);
  bool transport_error =
      !connect_error && t->abort_reason_.empty() &&
      (rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_GOT_NOTHING || rc == CURLE_SEND_ERROR ||
       rc == CURLE_RECV_ERROR || rc == CURLE_PARTIAL_FILE || rc == CURLE_HTTP2 ||
       rc == CURLE_HTTP2_STREAM);
  bool server_error = rc == CURLE_OK && r.status >= 500 && r.status <= 599;
  bool retryable = (connect_error && p.on_connect_error) ||
                   (transport_error && p.on_transport_error) || (server_error && p.on_5xx);

  if (retryable && t->attempts_ <= p.max_retries) {
    double delay = std::min(p.backoff_max_s, p.backoff_initial_s * std::pow(2.0, t->attempts_ - 1));
    delay = std::max(0.0, delay);
    t->retry_at_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(delay));
    t->where_ = Transfer::Where::retry_wait;
    waiting_.push_back(t);
    counters_.retries.fetch_add(1);
    spdlog::debug("http: {} {} attempt {} failed ({}); retry in {:.2f}s", t->request_.method,
                  mask_credentials(t->request_.url), t->attempts_,
                  r.error.empty() ? "status " + std::to_string(r.status) : r.error, delay);
    return;
  }
  if (!r.error.empty()) {
    spdlog::debug("http: {} {} failed after {} attempt(s): {}", t->request_.method,
                  mask_credentials(t->request_.url), t->attempts_, r.error);
  }
  complete(t, std::move(r));
}

// Worker thread. Runs `done` unless the transfer was cancelled; see Handle::cancel().
void Client::Impl::complete(const std::shared_ptr<Transfer>& t, Response response) {
  t->where_ = Transfer::Where::done;
  recycle(*t);
  response.total_time_s = std::chrono::duration<double>(Clock::now() - t->created_).count();
  std::lock_guard<std::recursive_mutex> lock(t->cb_mutex_);
  if (t->finished_.exchange(true)) return;  // cancelled
  counters_.completed.fetch_add(1);
  if (!response.error.empty()) counters_.failures.fetch_add(1);
  invoke(std::move(t->done_), std::move(response));
}

// ---------------------------------------------------------------------------------------

Client::Client(ClientConfig config) : impl_(std::make_shared<Impl>(std::move(config))) {
  impl_->start();
}

Client::~Client() {
  shutdown();
}

std::shared_ptr<Handle> Client::send(Request request, Done done) {
  return impl_->send(impl_, std::move(request), std::move(done));
}

void Client::shutdown() {
  impl_->shutdown();
}

ClientStats Client::stats() const {
  return impl_->stats();
}

const ClientConfig& Client::config() const {
  return impl_->config();
}

}  // namespace swmld::http
