// A test program for the SIP module: starts a Stack and runs a fixed script on every call
// (180 -> 200 -> on ACK: REFER -> final NOTIFY or timeout -> BYE), printing one line per
// REFER and per call end, e.g. "REFER_RESULT code=202 sipfrags=100,200 result=success".
// Leg events are handled on the main thread, as the engine would do on a call's strand. SDP
// is negotiated by the media module, as in the daemon (an offer it cannot use: 488).
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "swmld/media/service.hpp"
#include "swmld/sip/stack.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using swmld::sip::Leg;

struct Options {
  std::vector<std::string> listen;
  std::string refer_to = "sip:alice@example.com";
  std::string user, pass;
  double notify_timeout_s = 5;
  int answer_delay_ms = 0;
  int refer_delay_ms = 0;
  int refers = 1;
  int max_calls = 0;  // exit after this many calls ended; 0: run until SIGINT/SIGTERM
  int linger_ms = 1000;  // after the last call, before shutdown
  bool drain = false;
  bool dtmf_refer = false;  // wait for a DTMF INFO digit before the REFER
};

volatile std::sig_atomic_t g_stop = 0;

// Events and timers, run on the main thread.
class MainLoop {
 public:
  void post(std::function<void()> fn) {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(fn));
    cv_.notify_one();
  }
  void at(Clock::time_point when, std::function<void()> fn) {
    std::lock_guard lock(mutex_);
    timers_.emplace(when, std::move(fn));
    cv_.notify_one();
  }
  // Runs one batch of due work, waiting at most 100 ms.
  void run_once() {
    std::vector<std::function<void()>> work;
    {
      std::unique_lock lock(mutex_);
      auto deadline = Clock::now() + std::chrono::milliseconds(100);
      if (!timers_.empty() && timers_.begin()->first < deadline) deadline = timers_.begin()->first;
      cv_.wait_until(lock, deadline, [&] { return !queue_.empty(); });
      while (!queue_.empty()) {
        work.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      auto now = Clock::now();
      while (!timers_.empty() && timers_.begin()->first <= now) {
        work.push_back(std::move(timers_.begin()->second));
        timers_.erase(timers_.begin());
      }
    }
    for (auto& fn : work) fn();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::multimap<Clock::time_point, std::function<void()>> timers_;
};

void print_line(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// The script of one call. Main thread only (observer callbacks hop over with post()).
class Call : public std::enable_shared_from_this<Call> {
 public:
  Call(std::shared_ptr<Leg> leg, std::unique_ptr<swmld::call::MediaControl> media, const Options& opt,
       MainLoop& loop, std::function<void()> ended)
      : leg_(std::move(leg)), media_(std::move(media)), opt_(opt), loop_(loop), ended_(std::move(ended)) {}

  void start() {
    leg_->ring();
    after(opt_.answer_delay_ms, [](Call& c) {
      auto sdp = c.media_->local_sdp();
      if (sdp) {
        c.leg_->answer(*sdp);
      } else {
        print_line("MEDIA_ERROR " + sdp.error().message);
        c.leg_->reject(503, 5);
      }
    });
  }
  void remote_sdp(const swmld::call::RemoteSdp& r) {
    auto answer = media_->remote_sdp(r);
    if (r.kind == swmld::call::RemoteSdp::Kind::offer) leg_->answer_offer(answer ? *answer : std::string());
  }
  void answered() {
    if (!opt_.dtmf_refer) after(opt_.refer_delay_ms, [](Call& c) { c.send_refer(); });
  }
  void dtmf(char d) {
    print_line(std::string("DTMF digit=") + d);
    if (opt_.dtmf_refer && refers_sent_ == 0) send_refer();
  }
  void refer_response(int code) {
    refer_code_ = code;
    if (code < 200 || code >= 300) return finish_refer(code == 0 ? "error" : "failed");
    if (final_notify_) return finish_refer(result_from_frags());
    int id = refers_sent_;
    after(static_cast<int>(opt_.notify_timeout_s * 1000), [id](Call& c) {
      if (c.refer_open_ && c.refers_sent_ == id) c.finish_refer("timeout");
    });
  }
  void refer_notify(int code, bool terminated) {
    if (!refer_open_) return;
    frags_.push_back(code);
    if (code >= 200 || terminated) {
      final_notify_ = true;
      if (refer_code_ >= 200) finish_refer(result_from_frags());
    }
  }
  void terminated(const std::string& reason) {
    media_->close();
    if (refer_open_) finish_refer("ended");
    print_line("CALL_END reason=" + reason);
    done_ = true;
    ended_();
  }

 private:
  void after(int ms, std::function<void(Call&)> fn) {
    auto self = shared_from_this();
    loop_.at(Clock::now() + std::chrono::milliseconds(ms), [self, fn] {
      if (!self->done_) fn(*self);
    });
  }
  void send_refer() {
    ++refers_sent_;
    refer_open_ = true;
    refer_code_ = -1;
    final_notify_ = false;
    frags_.clear();
    leg_->refer({opt_.refer_to, "", opt_.user, opt_.pass});
  }
  std::string result_from_frags() const {
    int last = frags_.empty() ? 0 : frags_.back();
    return (last >= 200 && last < 300) ? "success" : "failed";
  }
  void finish_refer(const std::string& result) {
    if (!refer_open_) return;
    refer_open_ = false;
    std::string frags;
    for (int f : frags_) {
      if (!frags.empty()) frags += ',';
      frags += std::to_string(f);
    }
    print_line("REFER_RESULT code=" + std::to_string(refer_code_ < 0 ? 0 : refer_code_) +
               " sipfrags=" + frags + " result=" + result);
    if (done_) return;
    if (refers_sent_ < opt_.refers)
      after(opt_.refer_delay_ms, [](Call& c) { c.send_refer(); });
    else
      leg_->bye();
  }

  std::shared_ptr<Leg> leg_;
  std::unique_ptr<swmld::call::MediaControl> media_;
  const Options& opt_;
  MainLoop& loop_;
  std::function<void()> ended_;
  int refers_sent_ = 0;
  bool refer_open_ = false;
  int refer_code_ = -1;
  bool final_notify_ = false;
  std::vector<int> frags_;
  bool done_ = false;
};

// Runs on the SIP thread: copies and posts to the main loop.
class Events : public swmld::call::Events {
 public:
  Events(std::shared_ptr<Call> call, MainLoop& loop) : call_(std::move(call)), loop_(loop) {}
  void post(swmld::call::Event event) override {
    loop_.post([call = call_, event = std::move(event)] {
      namespace c = swmld::call;
      if (std::get_if<c::Answered>(&event)) call->answered();
      if (auto* e = std::get_if<c::Ended>(&event)) {
        std::string reason = c::to_string(e->cause);
        if (e->cause == c::EndCause::failure) reason += ":" + std::to_string(e->sip_code);
        call->terminated(reason);
      }
      if (auto* e = std::get_if<c::RemoteSdp>(&event)) call->remote_sdp(*e);
      if (auto* e = std::get_if<c::ReferResponse>(&event)) call->refer_response(e->code);
      if (auto* e = std::get_if<c::ReferNotify>(&event)) call->refer_notify(e->sipfrag_code, e->terminated);
      if (auto* e = std::get_if<c::Dtmf>(&event)) call->dtmf(e->digit);
    });
  }

 private:
  std::shared_ptr<Call> call_;
  MainLoop& loop_;
};

void usage() {
  std::fprintf(stderr,
               "usage: sip_harness --listen udp:127.0.0.1:5070 [--listen ...] [--refer-to URI]\n"
               "  [--user U --pass P] [--notify-timeout S] [--answer-delay-ms N] [--refer-delay-ms N]\n"
               "  [--refers N] [--max-calls N] [--linger-ms N] [--drain] [--dtmf-refer] [--log-level LEVEL]\n");
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  std::string log_level = "warn";
  int sofia_level = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--listen") opt.listen.push_back(next());
    else if (a == "--refer-to") opt.refer_to = next();
    else if (a == "--user") opt.user = next();
    else if (a == "--pass") opt.pass = next();
    else if (a == "--notify-timeout") opt.notify_timeout_s = std::atof(next().c_str());
    else if (a == "--answer-delay-ms") opt.answer_delay_ms = std::atoi(next().c_str());
    else if (a == "--refer-delay-ms") opt.refer_delay_ms = std::atoi(next().c_str());
    else if (a == "--refers") opt.refers = std::atoi(next().c_str());
    else if (a == "--max-calls") opt.max_calls = std::atoi(next().c_str());
    else if (a == "--linger-ms") opt.linger_ms = std::atoi(next().c_str());
    else if (a == "--drain") opt.drain = true;
    else if (a == "--dtmf-refer") opt.dtmf_refer = true;
    else if (a == "--log-level") log_level = next();
    else if (a == "--sofia-log-level") sofia_level = std::atoi(next().c_str());
    else {
      usage();
      return 2;
    }
  }
  if (opt.listen.empty()) opt.listen.push_back("udp:127.0.0.1:5070");
  spdlog::set_level(spdlog::level::from_str(log_level));
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });

  MainLoop loop;
  int ended = 0;
  swmld::sip::StackConfig config;
  config.listen = opt.listen;
  config.sofia_log_level = sofia_level;
  swmld::media::MediaConfig media_config;
  media_config.rtp_ports = {30000, 30999};
  auto media = swmld::media::Service::start(media_config, nullptr);
  if (!media) {
    std::fprintf(stderr, "%s\n", media.error().message.c_str());
    return 1;
  }
  auto stack = swmld::sip::Stack::start(config, [&](const std::shared_ptr<Leg>& leg) {
    // SIP thread: negotiate the offer, build the call, then let the main loop drive it.
    auto session = (*media)->open(leg->info().remote_sdp, leg->info().local_address);
    if (!session) {
      leg->reject(488);
      return;
    }
    auto call = std::make_shared<Call>(leg, std::move(*session), opt, loop, [&] { ++ended; });
    leg->attach(std::make_shared<Events>(call, loop));
    loop.post([call] { call->start(); });
  });
  if (!stack) {
    std::fprintf(stderr, "%s\n", stack.error().message.c_str());
    return 1;
  }
  if (opt.drain) (*stack)->drain();
  print_line("READY");
  while (!g_stop && (opt.max_calls == 0 || ended < opt.max_calls)) loop.run_once();
  // Let the peer finish (its timewait, TCP close) before the sockets go away.
  auto linger_end = Clock::now() + std::chrono::milliseconds(opt.linger_ms);
  while (!g_stop && Clock::now() < linger_end) loop.run_once();
  (*stack)->shutdown();
  // Observers may still have posted work (e.g. CALL_END reason=shutdown).
  loop.run_once();
  return 0;
}
