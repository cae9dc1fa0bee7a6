// REFER bookkeeping of one dialog (design.md §6): one REFER transaction at a time, one digest
// retry, and which NOTIFYs belong to the current REFER; plus the body parsers the leg uses
// (message/sipfrag, dtmf INFO). Pure: no Sofia, SIP-thread state only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "swmld/sip/stack.hpp"

namespace swmld::sip {

// Status code of a message/sipfrag body ("SIP/2.0 486 Busy Here" -> 486); 0 when absent.
int parse_sipfrag_status(std::string_view body);

// A digit from an INFO body: application/dtmf-relay ("Signal=5\r\nDuration=160") or
// application/dtmf ("5"). Accepts 0-9 * # A-D (upper-cased).
std::optional<char> parse_dtmf_info(std::string_view content_type, std::string_view body);

// NUTAG_AUTH() value: scheme:"realm":user:password. `realm` comes with or without quotes.
std::string digest_credentials(std::string_view scheme, std::string_view realm,
                               std::string_view username, std::string_view password);

class ReferTracker {
 public:
  enum class Step {
    ignore,  // provisional, or a response of no REFER of ours
    report,  // final: report `code` to the observer
    retry,   // challenged and we have credentials: nua_authenticate once
  };
  struct Decision {
    Step step = Step::ignore;
    int code = 0;
  };

  bool waiting_response() const { return waiting_; }
  const call::ReferRequest& params() const { return params_; }

  void start(call::ReferRequest params);
  // The local 100 of nua_refer() carries "refer;id=<CSeq>": NOTIFYs of this REFER use it.
  void set_event_id(std::string id) { event_id_ = std::move(id); }
  Decision on_response(int status);
  // We gave up on a challenge: nua_authenticate() without credentials releases Sofia's
  // request (which otherwise blocks every later request of the dialog) and produces one more
  // final nua_r_refer (904) that must not be taken for a later REFER's response.
  void expect_release_response() { ++releases_pending_; }
  // A NOTIFY whose Event id is empty (old peers) or equals the current REFER's id.
  bool matches_notify(std::string_view event_id) const;

 private:
  call::ReferRequest params_;
  std::string event_id_;
  int releases_pending_ = 0;
  bool waiting_ = false;
  bool retried_ = false;
};

}  // namespace swmld::sip
