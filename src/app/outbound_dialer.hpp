// connect's outbound legs on the application side: every leg passes the toll-fraud guard
// (OutboundPolicy), the per-call and node-wide rate limits, and is mapped to a SIP request
// (phone numbers through outbound.gateway, SIP URIs directly) before sip::Stack::dial.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "outbound_policy.hpp"
#include "swmld/call/contract.hpp"
#include "swmld/core/metrics.hpp"
#include "swmld/sip/stack.hpp"

namespace swmld::app {

// Node-wide, one per server: the outbound.max_legs_per_second bucket, the SIP stack's dial
// and the swmld_outbound_legs_total counter. Thread-safe.
class OutboundGuard {
 public:
  using DialFn = std::function<std::shared_ptr<call::CallControl>(sip::OutboundCall,
                                                                  std::shared_ptr<call::Events>)>;
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `dial`: sip::Stack::dial in the server, a fake in tests. `metrics` may be null. `now`:
  // empty for the steady clock.
  OutboundGuard(DialFn dial, Metrics* metrics, Clock now = {});

  // One token of a bucket refilled at `rate` per second that holds at most max(rate, 1)
  // tokens (a second's burst); false when empty. The rate comes with each call so that a
  // reload applies at once (the tokens held are capped at the new size).
  bool take(double rate);
  std::shared_ptr<call::CallControl> dial(sip::OutboundCall call,
                                          std::shared_ptr<call::Events> events) const;
  // swmld_outbound_legs_total{result="<result>"}.
  void count(std::string_view result);

 private:
  DialFn dial_;
  Metrics* metrics_;
  Clock now_;
  std::mutex mu_;
  double tokens_ = -1;  // -1: full at the first take()
  std::chrono::steady_clock::time_point last_{};
};

// What the dialer knows of the call that dials.
struct DialingCall {
  std::string caller;         // the caller's number (user of the inbound From); may be empty
  std::string local_address;  // our host toward the caller (IncomingCall::local_address)
};

// One call's dialer (CallPorts::dialer): built at INVITE time with the policy of that
// call's configuration snapshot, it counts the call's legs against
// outbound.max_legs_per_call. dial() runs on the call's strand (one at a time).
//
// From of the outbound INVITE: DialRequest::from when given (a number becomes
// sip:<number>@<host>), else outbound.gateway.from for calls through the gateway, else the
// caller's number; <host> is the gateway's host for calls through it, else our address.
// Gateway credentials are used only toward the gateway (DialRequest's username/password
// win when given).
class OutboundDialer final : public call::Dialer {
 public:
  OutboundDialer(std::shared_ptr<const OutboundPolicy> policy, std::shared_ptr<OutboundGuard> guard,
                 DialingCall call);

  // Refusals (Dialed::refused): "invalid", "unsupported" (queue:, stream:, rooms, numbers
  // without a gateway), "denied" (toll-fraud rules), "rate_limited", "error" (the stack
  // gave no leg). Each is logged at warn with the destination and the rule or limit.
  call::Dialed dial(call::DialRequest request, std::shared_ptr<call::Events> events) override;

  int legs() const { return legs_; }  // legs dialled so far

 private:
  call::Dialed refuse(const call::DialRequest& request, std::string reason, std::string detail);
  std::string from_uri(const std::string& from, bool via_gateway) const;

  std::shared_ptr<const OutboundPolicy> policy_;
  std::shared_ptr<OutboundGuard> guard_;
  DialingCall call_;
  int legs_ = 0;
};

}  // namespace swmld::app
