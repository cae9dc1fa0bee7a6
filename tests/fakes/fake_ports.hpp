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
  std::vector<std::string> actions;  // "ring", "answer", "refer sip:a@b", "hangup busy", ...
};

class FakeCall final : public engine::CallControl {
 public:
  explicit FakeCall(Recorder& rec) : rec_(rec) {}
  std::shared_ptr<engine::CallEvents> events;  // set by the test after CallRun::start
  bool auto_answer = true;                     // report on_answered at once
  std::function<void(const engine::ReferRequest&)> on_refer;  // the far end's REFER behaviour

  void ring() override { rec_.actions.push_back("ring"); }
  void answer() override {
    rec_.actions.push_back("answer");
    if (auto_answer) events->on_answered();
  }
  void hangup(engine::HangupReason r) override {
    rec_.actions.push_back(std::string("hangup ") + engine::to_string(r));
  }
  void refer(const engine::ReferRequest& r) override {
    rec_.actions.push_back("refer " + r.to_uri);
    if (on_refer) on_refer(r);
  }
  void send_digits(const std::string& d) override { rec_.actions.push_back("digits " + d); }

 private:
  Recorder& rec_;
};

class FakeMedia final : public engine::MediaControl {
 public:
  explicit FakeMedia(Recorder& rec) : rec_(rec) {}
  bool finish_at_once = true;
  std::function<void(std::string)> pending;

  void play(const engine::PlayRequest& r, std::function<void(std::string)> done) override {
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
