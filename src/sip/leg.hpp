// One inbound call on the SIP thread: its state machine (received -> ringing -> answered ->
// confirmed -> terminated), SDP, REFER tracking and the observer it reports to.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "executor.hpp"
#include "refer_tracker.hpp"
#include "sdp.hpp"
#include "sofia.hpp"
#include "swmld/sip/stack.hpp"

namespace swmld::sip {

class StackCore;

class LegImpl final : public Leg, public std::enable_shared_from_this<LegImpl> {
 public:
  struct Setup {
    IncomingCall info;
    std::optional<SdpOffer> offer;      // nullopt: late offer
    std::optional<MediaChoice> choice;  // set when offer is
    std::string contact;                // our Contact header value
    std::string local_host;             // SDP c= / o= address
    std::uint64_t session_id = 0;
  };
  LegImpl(StackCore& core, nua_handle_t* nh, Setup setup);
  ~LegImpl() override;

  // Leg: any thread.
  void set_observer(std::shared_ptr<LegObserver> observer) override;
  void ring() override;
  void answer() override;
  void reject(int code, std::string phrase, int retry_after_s) override;
  void bye() override;
  void refer(ReferParams params) override;
  void send_dtmf_info(std::string digits) override;
  const IncomingCall& info() const override { return info_; }

  // SIP thread: one nua event of this leg's handle.
  void on_event(nua_event_t event, int status, char const* phrase, nua_t* nua, sip_t const* sip,
                tagi_t tags[]);
  // SIP thread: the stack is going away without having terminated this leg.
  void force_terminated(const std::string& reason);

 private:
  enum class State { received, ringing, answered, confirmed, terminating, terminated };
  static const char* name(State s);

  // SIP thread.
  void transition(State to);
  void do_ring();
  void do_answer();
  void do_reject(int code, const std::string& phrase, int retry_after_s);
  void do_bye();
  void do_refer(ReferParams params);
  void do_info(const std::string& digits);
  void on_state(int status, tagi_t tags[]);
  void on_reinvite(nua_t* nua, sip_t const* sip);
  void on_refer_response(int status, sip_t const* sip, tagi_t tags[]);
  void on_notify(sip_t const* sip);
  void on_info(sip_t const* sip);
  void finish(const std::string& reason);
  void notify(std::function<void(LegObserver&)> event);
  bool answered() const { return state_ == State::answered || state_ == State::confirmed; }

  StackCore& core_;  // used on the SIP thread only, where it is alive
  std::shared_ptr<SipExecutor> executor_;  // outlives the stack: posts after shutdown are dropped
  nua_handle_t* nh_;  // nullptr once destroyed
  const IncomingCall info_;
  std::optional<SdpOffer> offer_;
  std::optional<MediaChoice> choice_;
  std::string contact_;
  std::string local_sdp_;  // what we last sent
  LocalMedia local_;
  std::optional<int> rtp_port_;

  State state_ = State::received;
  std::string end_reason_;  // first cause seen (cancel, hangup, ack_timeout, local)
  std::string reject_phrase_;  // phrase of our final response: nua_respond keeps the pointer
  bool answered_reported_ = false;
  bool terminated_reported_ = false;
  ReferTracker refer_;

  std::shared_ptr<LegObserver> observer_;
  std::vector<std::function<void(LegObserver&)>> pending_;  // before set_observer
};

}  // namespace swmld::sip
