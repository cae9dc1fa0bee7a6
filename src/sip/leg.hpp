// One inbound call on the SIP thread: its state machine (received -> ringing -> answered ->
// confirmed -> terminated), the SDP bodies it carries (never decides), REFER tracking and
// the event sink it reports to.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "executor.hpp"
#include "refer_tracker.hpp"
#include "sofia.hpp"
#include "swmld/sip/stack.hpp"

namespace swmld::sip {

class StackCore;

class LegImpl final : public Leg, public std::enable_shared_from_this<LegImpl> {
 public:
  // `contact`: our Contact header value.
  LegImpl(StackCore& core, nua_handle_t* nh, IncomingCall info, std::string contact);
  ~LegImpl() override;

  // call::CallControl: any thread.
  void attach(std::shared_ptr<call::Events> events) override;
  void ring() override;
  void progress(std::string local_sdp) override;
  void answer(std::string local_sdp) override;
  void answer_offer(std::string local_sdp) override;
  void reject(int code, int retry_after_s) override;
  void bye() override;
  void refer(call::ReferRequest request) override;
  void send_info_digits(std::string digits) override;
  const IncomingCall& info() const override { return info_; }
  void challenge(std::string proxy_authenticate) override;

  // SIP thread: one nua event of this leg's handle.
  void on_event(nua_event_t event, int status, char const* phrase, nua_t* nua, sip_t const* sip,
                tagi_t tags[]);
  // SIP thread: the stack is going away without having terminated this leg.
  void force_terminated();

 private:
  enum class State { received, ringing, answered, confirmed, terminating, terminated };
  static const char* name(State s);

  // SIP thread.
  void transition(State to);
  // Runs `action` on the SIP thread with the leg kept alive (inline when already there).
  template <typename F>
  void on_sip_thread(F&& action);
  void do_ring();
  void do_progress(const std::string& sdp);
  void do_answer(const std::string& sdp);
  void do_answer_offer(const std::string& sdp);
  void do_reject(int code, int retry_after_s, const std::string& proxy_authenticate = {});
  void do_bye();
  void do_refer(call::ReferRequest request);
  void do_info(const std::string& digits);
  void on_state(int status, tagi_t tags[]);
  void on_reinvite(sip_t const* sip);
  void on_ack(sip_t const* sip);
  void on_refer_response(int status, sip_t const* sip, tagi_t tags[]);
  void on_notify(sip_t const* sip);
  void on_info(sip_t const* sip);
  void finish(call::Ended ended);
  void emit(call::Event event);
  bool answered() const { return state_ == State::answered || state_ == State::confirmed; }

  StackCore& core_;  // used on the SIP thread only, where it is alive
  std::shared_ptr<SipExecutor> executor_;  // outlives the stack: posts after shutdown are dropped
  nua_handle_t* nh_;  // nullptr once destroyed
  const IncomingCall info_;
  std::string contact_;
  // Bodies of our responses: nua_respond() queues the response and keeps pointers to them
  // (only the tags are copied), so they live in the leg.
  std::string local_sdp_;
  bool offered_in_200_ = false;  // our 200 carried an offer: its answer comes in the ACK
  bool reinvite_pending_ = false;  // a re-INVITE waits for answer_offer()
  unsigned stale_notifies_ = 0;    // NOTIFYs of an earlier REFER (logged once)

  State state_ = State::received;
  std::optional<call::Ended> end_;  // first cause seen (cancel, hangup, ack_timeout, local)
  bool answered_reported_ = false;
  bool terminated_reported_ = false;
  ReferTracker refer_;

  std::shared_ptr<call::Events> events_;
  std::vector<call::Event> pending_;  // raised before attach()
};

}  // namespace swmld::sip
