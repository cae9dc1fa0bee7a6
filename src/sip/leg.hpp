// One call leg on the SIP thread, inbound (an INVITE we received) or outbound (an INVITE we
// sent, Stack::dial): its state machine (received -> ringing -> answered -> confirmed ->
// terminated; outbound: received = calling, ringing = a provisional came), the SDP bodies it
// carries (never decides), REFER tracking and the event sink it reports to.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
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
  // Outbound: `contact` may be empty (Sofia's own). No handle until start_outbound().
  LegImpl(StackCore& core, OutboundCall call, std::string call_id, std::string contact,
          std::shared_ptr<call::Events> events);
  // The most 3xx responses an outbound leg follows (each to the first sip:/sips: Contact);
  // the next one ends it as rejected.
  static constexpr int kMaxRedirects = 3;
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
  // SIP thread, outbound: creates the handle (bound to this leg) and sends the INVITE.
  void start_outbound();
  // SIP thread, outbound: ends the leg at once without sending anything (a draining stack).
  void refuse_outbound(int code);

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
  void on_invite_response(int status, char const* phrase, sip_t const* sip);
  bool follow_redirect(sip_t const* sip);
  bool authenticate(int status, sip_t const* sip);
  void send_invite();
  const std::string& local_uri() const { return outbound_ ? info_.from_uri : info_.to_uri; }
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

  // Outbound only.
  bool outbound_ = false;
  OutboundCall out_;                // the INVITE's parameters (credentials: never logged)
  std::string target_;              // the Request-URI (changes with each redirect followed)
  std::string invite_headers_;      // out_.headers as one SIPTAG_HEADER_STR text
  std::string from_;                // From header value
  std::string remote_sdp_;          // last SDP received in a response (18x/2xx)
  std::set<int> provisional_seen_;  // 1xx codes reported (Ringing once per code)
  int redirects_ = 0;
  bool auth_tried_ = false;
  bool cancel_sent_ = false;
  int refresh_failed_ = 0;  // status of a failed re-INVITE (session refresh) once confirmed
};

}  // namespace swmld::sip
