// Baseline for swmld's CPU per call: a bare, single-threaded Sofia-SIP NUA loop with no
// interpreter. Answers every INVITE with a fixed SDP, REFERs to sip:target@example.com on ACK,
// sends BYE after the final NOTIFY (or a REFER failure), and prints CPU time per call at exit.
//   bare_nua [sip:127.0.0.1:5070] [max-calls] [--post URL] [--log]   (SIGINT/SIGTERM to stop)
// --post URL: the same status callbacks as swmld's benchmark document, done the plainest way
//   libcurl allows: the SIP thread queues a JSON body when the REFER is answered 2xx and
//   when the final NOTIFY arrives; one more thread POSTs them one after the other with
//   curl_easy_perform on one reused (keep-alive) easy handle.
// --log: one JSON line on stderr per REFER result and per ended call, as swmld's
//   `refer_result` and `ended` records at logging level info.

#include <curl/curl.h>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_tag.h>
#pragma GCC diagnostic pop

extern "C" su_log_t nua_log[];  // exported by libsofia-sip-ua, declared in no header

#include "common/cpu_seconds.hpp"

namespace {

constexpr const char* kSdp =
    "v=0\r\no=bare 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 20000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n";

// One thread POSTing queued JSON bodies to one URL, in order, over one kept-alive connection.
class Poster {
 public:
  explicit Poster(std::string url) : url_(std::move(url)) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    easy_ = curl_easy_init();
    headers_ = curl_slist_append(headers_, "Content-Type: application/json");
    headers_ = curl_slist_append(headers_, "Expect:");
    curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &discard);
    thread_ = std::thread([this] { run(); });
  }
  ~Poster() {
    finish();
    curl_slist_free_all(headers_);
    curl_easy_cleanup(easy_);
    curl_global_cleanup();
  }
  void post(std::string body) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (queue_.size() >= 100000) {
        ++dropped_;
        return;
      }
      queue_.push_back(std::move(body));
    }
    cv_.notify_one();
  }
  // Sends what is queued, then stops the thread.
  void finish() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }
  long sent() const { return sent_; }  // after finish()
  long failed() const { return failed_ + dropped_; }

 private:
  static size_t discard(char*, size_t size, size_t n, void*) { return size * n; }
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, everything sent
      std::string body = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
      long code = 0;
      if (curl_easy_perform(easy_) == CURLE_OK) curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &code);
      lock.lock();
      if (code >= 200 && code < 300) {
        ++sent_;
      } else {
        ++failed_;
      }
    }
  }

  std::string url_;
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool stop_ = false;
  long sent_ = 0, failed_ = 0, dropped_ = 0;
};

struct Counters {
  su_root_t* root = nullptr;
  long max_calls = 0;
  long invites = 0, refers = 0, notifies = 0, ended = 0;
  Poster* poster = nullptr;
  bool log = false;
};

const char* call_id_of(const sip_t* sip) {
  return sip && sip->sip_call_id ? sip->sip_call_id->i_id : "";
}

// The body swmld posts (calling.call.refer), with the same fields and about the same size.
std::string refer_event(const sip_t* sip, const char* state, int notify_code) {
  const std::string id = call_id_of(sip);
  std::string body = R"({"event_type":"calling.call.refer","event_channel":"swml:)" + id +
                     R"(","timestamp":)" + std::to_string(static_cast<double>(time(nullptr))) +
                     R"(,"project_id":"bench","space_id":"bench","params":{"call_id":")" + id +
                     R"(","node_id":"bench","segment_id":")" + id +
                     R"(","sip_refer_to":"sip:target@example.com","state":")" + state +
                     R"(","sip_refer_response_code":"202")";
  if (notify_code != 0) {
    body += R"(,"sip_notify_response_code":")" + std::to_string(notify_code) + "\"";
  }
  return body + "}}";
}

void log_line(const Counters& c, const char* event, const sip_t* sip) {
  if (!c.log) return;
  std::fprintf(stderr, R"({"ts":%.6f,"level":"info","event":"%s","sip_call_id":"%s"})" "\n",
               static_cast<double>(time(nullptr)), event, call_id_of(sip));
}

volatile std::sig_atomic_t g_stop = 0;

void on_event(nua_event_t event, int status, char const* /*phrase*/, nua_t* /*nua*/,
              nua_magic_t* magic, nua_handle_t* nh, nua_hmagic_t* /*hmagic*/, sip_t const* sip,
              tagi_t tags[]) {
  auto* c = static_cast<Counters*>(magic);
  switch (event) {
    case nua_i_invite:
      ++c->invites;
      nua_respond(nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                  SIPTAG_PAYLOAD_STR(kSdp), TAG_END());
      break;
    case nua_i_state: {
      int state = nua_callstate_init;
      tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
      if (state == nua_callstate_ready) {
        ++c->refers;
        nua_refer(nh, SIPTAG_REFER_TO_STR("<sip:target@example.com>"), TAG_END());
      } else if (state == nua_callstate_terminated) {
        ++c->ended;
        log_line(*c, "ended", sip);
        nua_handle_destroy(nh);
        if (c->max_calls && c->ended >= c->max_calls) su_root_break(c->root);
      }
      break;
    }
    case nua_r_refer:
      if (status >= 300) {
        log_line(*c, "refer_result", sip);
        nua_bye(nh, TAG_END());
      } else if (status >= 200 && c->poster) {
        c->poster->post(refer_event(sip, "accepted", 0));
      }
      break;
    case nua_i_notify: {
      ++c->notifies;
      bool terminated = sip && sip->sip_subscription_state &&
                        sip->sip_subscription_state->ss_substate &&
                        strcasecmp(sip->sip_subscription_state->ss_substate, "terminated") == 0;
      // The sipfrag: "SIP/2.0 200 OK"
      int code = sip && sip->sip_payload && sip->sip_payload->pl_len >= 11
                     ? std::atoi(std::string(sip->sip_payload->pl_data + 8, 3).c_str())
                     : 0;
      if (terminated || code >= 200) {
        if (c->poster) {
          c->poster->post(refer_event(sip, code >= 200 && code < 300 ? "success" : "failed", code));
        }
        log_line(*c, "refer_result", sip);
        nua_bye(nh, TAG_END());
      }
      break;
    }
    case nua_r_shutdown:
      if (status >= 200) su_root_break(c->root);
      break;
    default:
      break;
  }
}

void check_stop(su_root_magic_t* magic, su_timer_t* /*t*/, su_timer_arg_t* /*arg*/) {
  if (g_stop) su_root_break(static_cast<Counters*>(static_cast<void*>(magic))->root);
}

using swmld::bench::cpu_seconds;

}  // namespace

int main(int argc, char** argv) {
  const char* url = "sip:127.0.0.1:5070;transport=udp";
  const char* post_url = nullptr;
  Counters c;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--post") == 0 && i + 1 < argc) {
      post_url = argv[++i];
    } else if (std::strcmp(argv[i], "--log") == 0) {
      c.log = true;
    } else if (positional++ == 0) {
      url = argv[i];
    } else {
      c.max_calls = std::atol(argv[i]);
    }
  }
  std::unique_ptr<Poster> poster;
  if (post_url) {
    poster = std::make_unique<Poster>(post_url);
    c.poster = poster.get();
  }
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });

  su_init();
  su_log_set_level(nua_log, 0);  // level 3 prints a line per destroyed handle
  c.root = su_root_create(reinterpret_cast<su_root_magic_t*>(&c));
  su_root_threading(c.root, 0);
  nua_t* nua = nua_create(c.root, on_event, &c, NUTAG_URL(url), NUTAG_MEDIA_ENABLE(0),
                          NUTAG_AUTOANSWER(0), NUTAG_AUTOACK(1), NUTAG_SESSION_TIMER(0),
                          SIPTAG_SUPPORTED_STR(""), TAG_END());
  if (!nua) {
    std::fprintf(stderr, "bare_nua: cannot bind %s\n", url);
    return 1;
  }
  su_timer_t* poll = su_timer_create(su_root_task(c.root), 100);
  su_timer_set_for_ever(poll, check_stop, nullptr);
  std::printf("READY %s\n", url);
  std::fflush(stdout);
  double cpu0 = cpu_seconds();
  su_root_run(c.root);
  double cpu = cpu_seconds() - cpu0;
  su_timer_destroy(poll);
  nua_shutdown(nua);
  su_root_run(c.root);  // until nua_r_shutdown
  nua_destroy(nua);
  su_root_destroy(c.root);
  su_deinit();
  if (poster) {
    poster->finish();
    std::printf("posted=%ld post_failed=%ld\n", poster->sent(), poster->failed());
  }
  std::printf("calls=%ld refers=%ld notifies=%ld cpu_s=%.3f cpu_ms_per_call=%.3f\n", c.ended, c.refers,
              c.notifies, cpu, c.ended ? cpu * 1000 / static_cast<double>(c.ended) : 0.0);
  return 0;
}
