// Adapters between a SIP leg (src/sip) and the engine's ports: the engine's CallControl
// drives the leg; the leg's observer feeds the engine's CallEvents.
#pragma once

#include <functional>
#include <memory>

#include "swmld/engine/ports.hpp"
#include "swmld/sip/stack.hpp"

namespace swmld::app {

// engine::CallControl over a sip::Leg. Leg methods are thread-safe and never block.
class SipCallControl final : public engine::CallControl {
 public:
  // `fetch_failure_code`: the reject code when the call's document cannot be fetched
  // (http.fetch_failure_code; a 503 carries Retry-After: 5).
  SipCallControl(std::shared_ptr<sip::Leg> leg, int fetch_failure_code)
      : leg_(std::move(leg)), fetch_failure_code_(fetch_failure_code) {}
  void ring() override { leg_->ring(); }
  void answer() override {
    answered_ = true;
    leg_->answer();
  }
  void hangup(engine::HangupReason reason) override {
    if (answered_) {
      leg_->bye();
    } else if (reason == engine::HangupReason::fetch_failed) {
      leg_->reject(fetch_failure_code_, "", fetch_failure_code_ == 503 ? 5 : 0);
    } else {
      leg_->reject(engine::reject_code(reason), "");
    }
  }
  void refer(const engine::ReferRequest& r) override {
    leg_->refer(sip::ReferParams{r.to_uri, r.referred_by, r.username, r.password});
  }
  void send_digits(const std::string& digits) override { leg_->send_dtmf_info(digits); }

 private:
  std::shared_ptr<sip::Leg> leg_;
  int fetch_failure_code_;
  bool answered_ = false;  // strand only
};

// sip::LegObserver forwarding to the engine (whose CallEvents post to the call's strand).
class SipLegObserver final : public sip::LegObserver {
 public:
  explicit SipLegObserver(std::shared_ptr<engine::CallEvents> events)
      : events_(std::move(events)) {}
  void on_answered() override { events_->on_answered(); }
  void on_terminated(std::string reason) override {
    // "local" is the end we asked for (hangup step, end of document): not a far-end hangup.
    if (reason != "local") events_->on_hangup(std::move(reason));
  }
  void on_refer_response(int code) override { events_->on_refer_response(code); }
  void on_refer_notify(int code, bool terminated) override {
    events_->on_refer_notify(code, terminated);
  }
  void on_dtmf(char digit) override { events_->on_dtmf(digit); }

 private:
  std::shared_ptr<engine::CallEvents> events_;
};

}  // namespace swmld::app
