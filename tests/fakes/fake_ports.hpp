// Fakes of the engine's ports for unit tests: they record what the engine asked for and
// let the test decide when and how the far end answers.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "swmld/engine/ports.hpp"

namespace swmld::fakes {

struct Recorder {
  std::vector<std::string> actions;  // "ring", "answer", "refer sip:a@b", "reject 486", ...
};

class FakeCall final : public call::CallControl {
 public:
  explicit FakeCall(Recorder& rec) : rec_(rec) {}
  std::shared_ptr<call::Events> events;                     // the engine's sink, set by attach()
  bool auto_answer = true;                                  // report Answered at once
  std::function<void(const call::ReferRequest&)> on_refer;  // the far end's REFER behaviour

  void attach(std::shared_ptr<call::Events> e) override { events = std::move(e); }
  void ring() override { rec_.actions.push_back("ring"); }
  void progress(std::string) override { rec_.actions.push_back("progress"); }
  void answer(std::string) override {
    rec_.actions.push_back("answer");
    if (auto_answer) events->post(call::Answered{});
  }
  void answer_offer(std::string sdp) override {
    rec_.actions.push_back(sdp.empty() ? "answer_offer 488" : "answer_offer " + sdp);
  }
  void reject(int code, int) override { rec_.actions.push_back("reject " + std::to_string(code)); }
  void bye() override { rec_.actions.push_back("bye"); }
  void refer(call::ReferRequest r) override {
    rec_.actions.push_back("refer " + r.to_uri);
    if (on_refer) on_refer(r);
  }
  void send_info_digits(std::string d) override { rec_.actions.push_back("info " + d); }

 private:
  Recorder& rec_;
};

class FakeMedia final : public call::MediaControl {
 public:
  explicit FakeMedia(Recorder& rec) : rec_(rec) {}
  bool finish_at_once = true;
  bool telephone_event_negotiated = true;
  bool no_port = false;  // local_sdp() fails as with an exhausted port range
  std::function<void(std::string)> pending;
  std::shared_ptr<call::Events> events;
  // Our answer to a re-INVITE's offer; an empty `sdp` here means "not acceptable".
  std::string reoffer_answer = "v=0 answer";

  void attach(std::shared_ptr<call::Events> e) override { events = std::move(e); }
  Result<std::string> local_sdp() override {
    if (no_port) return make_error(ErrorCode::method_execute_failed, "no free RTP port");
    return std::string("v=0\r\n");
  }
  Result<std::string> remote_sdp(const call::RemoteSdp& r) override {
    rec_.actions.push_back(r.kind == call::RemoteSdp::Kind::offer ? "remote offer " + r.sdp
                                                                  : "remote answer " + r.sdp);
    if (reoffer_answer.empty())
      return make_error(ErrorCode::method_execute_failed, "no common codec");
    return r.kind == call::RemoteSdp::Kind::offer ? reoffer_answer : std::string();
  }
  bool telephone_event() const override { return telephone_event_negotiated; }
  void play(const call::PlayRequest& r, std::function<void(std::string)> done) override {
    for (const auto& u : r.urls) rec_.actions.push_back("play " + u);
    if (finish_at_once) {
      done("");
    } else {
      pending = std::move(done);
    }
  }
  void stop() override {
    if (pending) {
      rec_.actions.push_back("stop");
      auto d = std::move(pending);
      pending = nullptr;
      d("");
    }
  }
  void send_digits(const std::string& digits, std::function<void(std::string)> done) override {
    rec_.actions.push_back("digits " + digits);
    done("");
  }
  void close() override {}
  Status bridge(call::MediaControl&) override {
    rec_.actions.push_back("bridge");
    return Ok{};
  }
  void unbridge() override { rec_.actions.push_back("unbridge"); }

 private:
  Recorder& rec_;
};

// An outbound leg (connect) the test drives: it posts the far end's events itself through
// `events`; bye() is recorded as "cancel <to>" before an answer, "bye <to>" after.
class FakeOutboundLeg final : public call::CallControl {
 public:
  FakeOutboundLeg(Recorder& rec, std::string to, std::shared_ptr<call::Events> e)
      : events(std::move(e)), to(std::move(to)), rec_(rec) {}
  std::shared_ptr<call::Events> events;
  std::string to;
  bool answered = false;
  bool ended = false;

  void ringing(int code = 180) { events->post(call::Ringing{code}); }
  void answer() {
    answered = true;
    events->post(call::RemoteSdp{call::RemoteSdp::Kind::answer, "v=0 callee"});
    events->post(call::Answered{});
  }
  void reject(int code) {
    ended = true;
    events->post(call::Ended{call::EndCause::rejected, code, {}});
  }
  void hang_up() {
    ended = true;
    events->post(call::Ended{call::EndCause::remote_hangup, 0, {}});
  }

  void attach(std::shared_ptr<call::Events>) override {}
  void ring() override {}
  void progress(std::string) override {}
  void answer(std::string) override {}
  void answer_offer(std::string) override {}
  void reject(int, int) override { bye(); }
  void bye() override {
    if (ended) return;
    ended = true;
    rec_.actions.push_back((answered ? "bye " : "cancel ") + to);
    events->post(call::Ended{call::EndCause::local, answered ? 0 : 487, {}});
  }
  void refer(call::ReferRequest r) override { rec_.actions.push_back("refer " + r.to_uri + " on " + to); }
  void send_info_digits(std::string) override {}

 private:
  Recorder& rec_;
};

// Dials FakeOutboundLegs: "dial <to>" recorded; destinations in `deny` are refused.
class FakeDialer final : public call::Dialer {
 public:
  explicit FakeDialer(Recorder& rec) : rec_(rec) {}
  std::vector<std::shared_ptr<FakeOutboundLeg>> legs;
  std::vector<call::DialRequest> requests;
  std::vector<std::string> deny;
  // Runs right after each dial (the far end's scripted behaviour).
  std::function<void(FakeOutboundLeg&)> on_dial;

  call::Dialed dial(call::DialRequest r, std::shared_ptr<call::Events> e) override {
    rec_.actions.push_back("dial " + r.to);
    requests.push_back(r);
    for (const auto& d : deny)
      if (d == r.to) return {nullptr, "denied", "outbound.deny " + d};
    auto leg = std::make_shared<FakeOutboundLeg>(rec_, r.to, std::move(e));
    legs.push_back(leg);
    if (on_dial) on_dial(*leg);
    return {leg, {}, {}};
  }

 private:
  Recorder& rec_;
};

class FakePoster final : public engine::EventPoster {
 public:
  std::vector<std::pair<std::string, Value>> posts;
  void post_event(const std::string& url, Value body) override {
    posts.emplace_back(url, std::move(body));
  }
};

}  // namespace swmld::fakes
