// Stack::dial against SIPp callees on loopback: the events an outbound leg reports and the
// messages it sends (each scenario in tests/unit/sip/sipp/ checks what it receives and
// fails SIPp, exit code non-zero, on anything else).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "swmld/sip/stack.hpp"

extern char** environ;

namespace swmld::sip {
namespace {

using namespace std::chrono_literals;

#ifndef SWMLD_TEST_SLOWDOWN
#define SWMLD_TEST_SLOWDOWN 1
#endif

int free_udp_port() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool port_taken(int port, int type) {
  int fd = ::socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool taken = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0;
  ::close(fd);
  return taken;
}

// One SIPp UAS process running a scenario of tests/unit/sip/sipp/ for one call.
class Sipp {
 public:
  explicit Sipp(const std::string& scenario, std::vector<std::string> extra = {})
      : port_(free_udp_port()) {
    int type = SOCK_DGRAM;
    for (std::size_t i = 0; i + 1 < extra.size(); ++i)
      if (extra[i] == "-t" && extra[i + 1] == "t1") type = SOCK_STREAM;
    dir_ = std::string(SWMLD_BINARY_DIR) + "/tests/dial_test_" + scenario + "_" +
           std::to_string(::getpid());
    ::mkdir(dir_.c_str(), 0700);
    trace_ = dir_ + "/messages.log";
    std::vector<std::string> args = {
        "sipp",
        "-sf",
        std::string(SWMLD_SOURCE_DIR) + "/tests/unit/sip/sipp/" + scenario + ".xml",
        "-i",
        "127.0.0.1",
        "-p",
        std::to_string(port_),
        "-m",
        "1",
        "-nostdin",
        "-timeout",
        std::to_string(15 * SWMLD_TEST_SLOWDOWN),
        "-timeout_error",
        "-trace_msg",
        "-message_file",
        trace_,
        "-trace_err",
        "-error_file",
        dir_ + "/errors.log",
        "-mp",
        std::to_string(free_udp_port())};
    for (auto& e : extra) args.push_back(std::move(e));
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    std::string out = dir_ + "/stdout.log";
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawnp(&pid_, "sipp", &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    // Listening once its port is taken. SIPp took 2 s to start on a loaded CI machine (the
    // first tests of a `ctest -j2` run): wait up to 10 s before a dial can find it closed.
    const int tries = 1000 * SWMLD_TEST_SLOWDOWN;
    for (int i = 0; i < tries && pid_ > 0 && !port_taken(port_, type); ++i)
      std::this_thread::sleep_for(10ms);
  }
  ~Sipp() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::string uri(const std::string& user = "bob") const {
    return "sip:" + user + "@127.0.0.1:" + std::to_string(port_);
  }
  int port() const { return port_; }
  // SIPp's exit status (0: the scenario passed), or -1 if it did not end in time.
  int wait() {
    auto deadline = std::chrono::steady_clock::now() + 20s * SWMLD_TEST_SLOWDOWN;
    while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }
  std::string messages() const { return slurp(trace_); }
  std::string errors() const { return slurp(dir_ + "/errors.log") + slurp(dir_ + "/stdout.log"); }

 private:
  static std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  int port_;
  pid_t pid_ = -1;
  std::string dir_, trace_;
};

// Records every event as a line: "ringing 180", "sdp answer", "answered", "ended rejected 486
// Busy Here".
class Recorder : public call::Events {
 public:
  void post(call::Event event) override {
    std::string line = std::visit(
        [](auto& e) -> std::string {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, call::Ringing>)
            return "ringing " + std::to_string(e.code);
          if constexpr (std::is_same_v<T, call::RemoteSdp>)
            return std::string("sdp ") +
                   (e.kind == call::RemoteSdp::Kind::offer ? "offer" : "answer");
          if constexpr (std::is_same_v<T, call::Answered>) return "answered";
          if constexpr (std::is_same_v<T, call::ReferResponse>)
            return "refer " + std::to_string(e.code);
          if constexpr (std::is_same_v<T, call::ReferNotify>)
            return "notify " + std::to_string(e.sipfrag_code) + (e.terminated ? " terminated" : "");
          if constexpr (std::is_same_v<T, call::Ended>) {
            std::string s =
                std::string("ended ") + call::to_string(e.cause) + " " + std::to_string(e.sip_code);
            return e.reason.empty() ? s : s + " " + e.reason;
          }
          return "other";
        },
        event);
    std::lock_guard lock(mutex_);
    if (auto* sdp = std::get_if<call::RemoteSdp>(&event)) last_sdp_ = sdp->sdp;
    lines_.push_back(line);
    cv_.notify_all();
  }
  // Waits for an event line starting with `prefix`; true when seen.
  bool wait_for(const std::string& prefix, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout * SWMLD_TEST_SLOWDOWN, [&] {
      for (const auto& l : lines_)
        if (l.rfind(prefix, 0) == 0) return true;
      return false;
    });
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  std::string last_sdp() {
    std::lock_guard lock(mutex_);
    return last_sdp_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  std::string last_sdp_;
};

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += (s.empty() ? "" : " | ") + l;
  return s;
}

const char* kOffer =
    "v=0\r\no=swmld 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

class Dial : public ::testing::Test {
 protected:
  void SetUp() override {
    StackConfig config;
    config.listen = {"udp:127.0.0.1:" + std::to_string(free_udp_port())};
    config.transaction_timeout_ms = 4000;
    if (getenv("DIAL_TEST_DEBUG")) {
      config.sofia_log_level = 9;
      spdlog::set_level(spdlog::level::debug);
    }
    auto stack = Stack::start(config, [](std::shared_ptr<Leg> leg) { leg->reject(603, 0); });
    ASSERT_TRUE(stack) << stack.error().message;
    stack_ = std::move(*stack);
  }
  void TearDown() override {
    if (stack_) stack_->shutdown();
  }
  OutboundCall call_to(const std::string& uri) {
    OutboundCall call;
    call.request_uri = uri;
    call.sdp = kOffer;
    return call;
  }
  // Waits until the stack has forgotten every leg.
  bool no_legs_left() {
    for (int i = 0; i < 200 * SWMLD_TEST_SLOWDOWN; ++i) {
      if (stack_->active_legs() == 0) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  std::unique_ptr<Stack> stack_;
};

TEST_F(Dial, AnsweredWithSdpThenOurBye) {
  Sipp sipp("uas_answer");
  auto events = std::make_shared<Recorder>();
  auto call = call_to(sipp.uri());
  call.from_uri = "sip:alice@example.com";
  call.from_display = "Alice \"A\"";
  call.headers = {
      {"X-Test", "one"}, {"X-Other", "two"}, {"Via", "forged"}, {"X-Bad", "a\r\nVia: x"}};
  auto leg = stack_->dial(call, events);
  ASSERT_TRUE(leg);
  ASSERT_TRUE(events->wait_for("answered")) << joined(events->lines());
  EXPECT_EQ(stack_->active_legs(), 1u);
  EXPECT_NE(events->last_sdp().find("m=audio 40000"), std::string::npos);
  leg->bye();
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(joined(events->lines()), "ringing 180 | sdp answer | answered | ended local 0");
  EXPECT_EQ(sipp.wait(), 0) << sipp.errors();
  std::string msgs = sipp.messages();
  EXPECT_EQ(msgs.find("forged"), std::string::npos);
  EXPECT_EQ(msgs.find("X-Bad"), std::string::npos);
  EXPECT_NE(msgs.find("ACK sip:callee@127.0.0.1"), std::string::npos) << msgs;
  EXPECT_TRUE(no_legs_left());
}

TEST_F(Dial, FarEndHangsUp) {
  Sipp sipp("uas_answer_bye");
  auto events = std::make_shared<Recorder>();
  auto leg = stack_->dial(call_to(sipp.uri()), events);
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(joined(events->lines()), "ringing 180 | sdp answer | answered | ended hangup 0");
  EXPECT_EQ(sipp.wait(), 0) << sipp.errors();
  EXPECT_TRUE(no_legs_left());
}

TEST_F(Dial, EarlyMediaBeforeTheAnswer) {
  Sipp sipp("uas_early_media");
  auto events = std::make_shared<Recorder>();
  auto leg = stack_->dial(call_to(sipp.uri()), events);
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  // The 200 repeats the 183's SDP: no second RemoteSdp.
  EXPECT_EQ(joined(events->lines()),
            "ringing 180 | sdp answer | ringing 183 | answered | ended hangup 0");
  EXPECT_EQ(sipp.wait(), 0) << sipp.errors();
}

TEST_F(Dial, BusyIsRejectedWithTheStatus) {
  Sipp sipp("uas_busy");
  auto events = std::make_shared<Recorder>();
  auto leg = stack_->dial(call_to(sipp.uri()), events);
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(joined(events->lines()), "ended rejected 486 Busy Here");
  EXPECT_EQ(sipp.wait(), 0) << sipp.errors();
  EXPECT_TRUE(no_legs_left());
}

TEST_F(Dial, ByeWhileRingingSendsCancel) {
  Sipp sipp("uas_ring_cancel");
  auto events = std::make_shared<Recorder>();
  auto leg = stack_->dial(call_to(sipp.uri()), events);
  ASSERT_TRUE(events->wait_for("ringing 180")) << joined(events->lines());
  leg->bye();
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(joined(events->lines()), "ringing 180 | ended local 0");
  EXPECT_EQ(sipp.wait(), 0) << sipp.errors();
  EXPECT_TRUE(no_legs_left());
}

TEST_F(Dial, AnAnswerCrossingTheCancelIsAckedAndByed) {
  Sipp sipp("uas_cancel_race");
  auto events = std::make_shared<Recorder>();
  auto leg = stack_->dial(call_to(sipp.uri()), events);
  ASSERT_TRUE(events->wait_for("ringing 180")) << joined(events->lines());
  leg->reject(486, 0);  // as bye(): CANCEL
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(sipp.wait(), 0) << sipp.errors();  // it got the ACK and the BYE
  EXPECT_EQ(joined(events->lines()), "ringing 180 | ended local 0");
  EXPECT_TRUE(no_legs_left());
}

TEST_F(Dial, DigestChallengeAnsweredOnce) {
  Sipp sipp("uas_auth_401");
  auto events = std::make_shared<Recorder>();
  auto call = call_to(sipp.uri());
  call.username = "alice";
  call.password = "s3cret";
  auto leg = stack_->dial(call, events);
  ASSERT_TRUE(events->wait_for("answered")) << joined(events->lines());
  leg->bye();
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(joined(events->lines()), "sdp answer | answered | ended local 0");
  EXPECT_EQ(sipp.wait(), 0) << sipp.errors();
}

TEST_F(Dial, SecondChallengeIsRejected) {
  Sipp sipp("uas_auth_twice");
  auto events = std::make_shared<Recorder>();
  auto call = call_to(sipp.uri());
  call.username = "alice";
  call.password = "s3cret";
  auto leg = stack_->dial(call, events);
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(joined(events->lines()), "ended rejected 401 Unauthorized");
  EXPECT_EQ(sipp.wait(), 0) << sipp.errors();
  EXPECT_TRUE(no_legs_left());
}

TEST_F(Dial, ChallengeWithoutCredentialsIsRejected) {
  Sipp sipp("uas_auth_twice");  // its first 401 is all this call sees
  auto events = std::make_shared<Recorder>();
  auto leg = stack_->dial(call_to(sipp.uri()), events);
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(joined(events->lines()), "ended rejected 401 Unauthorized");
  EXPECT_TRUE(no_legs_left());
}

TEST_F(Dial, RedirectIsFollowed) {
  Sipp second("uas_answer_bye");
  Sipp first("uas_redirect", {"-key", "redirect_port", std::to_string(second.port())});
  auto events = std::make_shared<Recorder>();
  auto leg = stack_->dial(call_to(first.uri()), events);
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(joined(events->lines()), "ringing 180 | sdp answer | answered | ended hangup 0");
  EXPECT_EQ(first.wait(), 0) << first.errors();
  EXPECT_EQ(second.wait(), 0) << second.errors();
  EXPECT_NE(second.messages().find("INVITE sip:second@127.0.0.1"), std::string::npos);
  EXPECT_TRUE(no_legs_left());
}

TEST_F(Dial, ARedirectTheDialerRefusesIsNotFollowed) {
  Sipp first("uas_redirect", {"-key", "redirect_port", "9"});
  auto events = std::make_shared<Recorder>();
  auto call = call_to(first.uri());
  std::string asked;
  call.allow_redirect = [&asked](const std::string& uri) {
    asked = uri;
    return std::string("outbound.deny rule 'second'");
  };
  auto leg = stack_->dial(call, events);
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(joined(events->lines()), "ended rejected 302 Moved Temporarily");
  EXPECT_NE(asked.find("sip:second@127.0.0.1:9"), std::string::npos) << asked;
  EXPECT_EQ(first.wait(), 0) << first.errors();
  EXPECT_TRUE(no_legs_left());
}

TEST_F(Dial, TheFourthRedirectIsRejected) {
  // Four callees, each redirecting to the next; the last one's 302 is one too many.
  Sipp fourth("uas_redirect", {"-key", "redirect_port", "9"});
  Sipp third("uas_redirect", {"-key", "redirect_port", std::to_string(fourth.port())});
  Sipp second("uas_redirect", {"-key", "redirect_port", std::to_string(third.port())});
  Sipp first("uas_redirect", {"-key", "redirect_port", std::to_string(second.port())});
  auto events = std::make_shared<Recorder>();
  auto leg = stack_->dial(call_to(first.uri()), events);
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(joined(events->lines()), "ended rejected 302 Moved Temporarily");
  for (Sipp* s : {&first, &second, &third, &fourth}) EXPECT_EQ(s->wait(), 0) << s->errors();
  EXPECT_TRUE(no_legs_left());
}

TEST_F(Dial, SessionTimerRefreshes) {
  Sipp sipp("uas_session_timer");
  auto events = std::make_shared<Recorder>();
  auto call = call_to(sipp.uri());
  call.session_timeout_s = 2;
  auto leg = stack_->dial(call, events);
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(joined(events->lines()), "sdp answer | answered | ended hangup 0");
  EXPECT_EQ(sipp.wait(), 0) << sipp.errors();  // it received the refresh re-INVITE
  // The refresh goes to the callee's Contact, keeps the timer and repeats our offer.
  std::string msgs = sipp.messages();
  auto refresh = msgs.find("INVITE sip:callee@127.0.0.1");
  ASSERT_NE(refresh, std::string::npos) << msgs;
  EXPECT_NE(msgs.find("Session-Expires: 2;refresher=uac", refresh), std::string::npos);
  EXPECT_NE(msgs.find("m=audio 30000", refresh), std::string::npos);
}

TEST_F(Dial, FailedRefreshEndsTheLeg) {
  Sipp sipp("uas_session_refresh_fails");
  auto events = std::make_shared<Recorder>();
  auto call = call_to(sipp.uri());
  call.session_timeout_s = 2;
  auto leg = stack_->dial(call, events);
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(joined(events->lines()), "sdp answer | answered | ended error 481");
  EXPECT_EQ(sipp.wait(), 0) << sipp.errors();
  EXPECT_TRUE(no_legs_left());
}

TEST_F(Dial, ReinviteReferAndInfoOnceAnswered) {
  Sipp sipp("uas_reinvite_refer");
  auto events = std::make_shared<Recorder>();
  auto leg = stack_->dial(call_to(sipp.uri()), events);
  ASSERT_TRUE(events->wait_for("sdp offer")) << joined(events->lines());
  EXPECT_NE(events->last_sdp().find("m=audio 40002"), std::string::npos);
  leg->answer_offer(kOffer);
  call::ReferRequest refer;
  refer.to_uri = "sip:carol@example.com";
  leg->refer(refer);
  ASSERT_TRUE(events->wait_for("notify")) << joined(events->lines());
  ASSERT_TRUE(events->wait_for("refer")) << joined(events->lines());
  leg->send_info_digits("5");
  std::this_thread::sleep_for(100ms);
  leg->bye();
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(
      joined(events->lines()),
      "sdp answer | answered | sdp offer | refer 202 | notify 200 terminated | ended local 0");
  EXPECT_EQ(sipp.wait(), 0) << sipp.errors();
  // Referred-By is our From (the outbound leg's local URI).
  EXPECT_NE(sipp.messages().find("Referred-By: <sip:swmld@127.0.0.1>"), std::string::npos);
}

TEST_F(Dial, ViaProxy) {
  // The Request-URI names a host nobody listens on; the proxy is the SIPp.
  Sipp sipp("uas_answer_bye");
  auto events = std::make_shared<Recorder>();
  auto call = call_to("sip:bob@192.0.2.1:5999");
  call.proxy = "sip:127.0.0.1:" + std::to_string(sipp.port());
  auto leg = stack_->dial(call, events);
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(joined(events->lines()), "ringing 180 | sdp answer | answered | ended hangup 0");
  EXPECT_EQ(sipp.wait(), 0) << sipp.errors();
  EXPECT_NE(sipp.messages().find("INVITE sip:bob@192.0.2.1:5999 SIP/2.0"), std::string::npos);
}

TEST(DialTcp, OverTcpWithATcpContact) {
  int port = free_udp_port();
  StackConfig config;
  config.listen = {"udp:127.0.0.1:" + std::to_string(port), "tcp:127.0.0.1:" + std::to_string(port)};
  auto stack = Stack::start(config, [](std::shared_ptr<Leg> leg) { leg->reject(603, 0); });
  ASSERT_TRUE(stack) << stack.error().message;
  Sipp sipp("uas_answer_bye", {"-t", "t1"});
  auto events = std::make_shared<Recorder>();
  OutboundCall call;
  call.request_uri = sipp.uri() + ";transport=tcp";
  call.sdp = kOffer;
  auto leg = (*stack)->dial(call, events);
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(joined(events->lines()), "ringing 180 | sdp answer | answered | ended hangup 0");
  EXPECT_EQ(sipp.wait(), 0) << sipp.errors();
  std::string msgs = sipp.messages();
  EXPECT_NE(msgs.find("Via: SIP/2.0/TCP"), std::string::npos) << msgs;
  EXPECT_NE(msgs.find("Contact: <sip:127.0.0.1:" + std::to_string(port) + ";transport=tcp>"),
            std::string::npos)
      << msgs;
  (*stack)->shutdown();
}

TEST_F(Dial, ShutdownCancelsARingingLeg) {
  Sipp sipp("uas_ring_cancel");
  auto events = std::make_shared<Recorder>();
  auto leg = stack_->dial(call_to(sipp.uri()), events);
  ASSERT_TRUE(events->wait_for("ringing 180")) << joined(events->lines());
  stack_->shutdown();
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(joined(events->lines()), "ringing 180 | ended shutdown 0");
  EXPECT_EQ(sipp.wait(), 0) << sipp.errors();  // CANCEL, 487, ACK
}

TEST_F(Dial, NobodyListeningIsAFailure) {
  // ICMP port unreachable on loopback: Sofia's own 503, not a response of the far end.
  auto events = std::make_shared<Recorder>();
  auto leg = stack_->dial(call_to("sip:bob@127.0.0.1:" + std::to_string(free_udp_port())), events);
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(events->lines().size(), 1u) << joined(events->lines());
  EXPECT_EQ(events->lines().front().rfind("ended error 503", 0), 0u) << joined(events->lines());
  EXPECT_TRUE(no_legs_left());
}

TEST_F(Dial, AfterDrainEndsAtOnce) {
  stack_->drain();
  auto events = std::make_shared<Recorder>();
  auto leg = stack_->dial(call_to("sip:bob@127.0.0.1:9"), events);
  ASSERT_TRUE(leg);
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(joined(events->lines()), "ended error 503");
  EXPECT_EQ(stack_->active_legs(), 0u);
}

TEST_F(Dial, ShutdownEndsAnAnsweredLeg) {
  Sipp sipp("uas_answer");
  auto events = std::make_shared<Recorder>();
  auto call = call_to(sipp.uri());
  call.from_uri = "sip:alice@example.com";
  call.from_display = "Alice \"A\"";
  call.headers = {{"X-Test", "one"}, {"X-Other", "two"}};
  auto leg = stack_->dial(call, events);
  ASSERT_TRUE(events->wait_for("answered")) << joined(events->lines());
  stack_->shutdown();
  ASSERT_TRUE(events->wait_for("ended")) << joined(events->lines());
  EXPECT_EQ(events->lines().back(), "ended shutdown 0");
  EXPECT_EQ(sipp.wait(), 0) << sipp.errors();  // nua_shutdown sent the BYE
  // After shutdown, dial() ends at once too.
  auto late = std::make_shared<Recorder>();
  stack_->dial(call_to(sipp.uri()), late);
  EXPECT_TRUE(late->wait_for("ended error 503", 1s)) << joined(late->lines());
  leg->bye();  // a leg outliving its stack: dropped, harmless
  leg->refer(call::ReferRequest{});
}

}  // namespace
}  // namespace swmld::sip
