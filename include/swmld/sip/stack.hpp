// The SIP user agent seen from the rest of swmld: a Stack that owns the one SIP thread and
// hands every inbound INVITE over as a Leg, which implements the call contract
// (swmld/call/contract.hpp) itself. No Sofia-SIP type appears here (pimpl). SDP is carried,
// never decided: the media module writes and reads the bodies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "swmld/call/contract.hpp"
#include "swmld/core/deadline_timer.hpp"
#include "swmld/core/error.hpp"

namespace swmld::sip {

// SIP over TLS (listen addresses "tls:HOST:PORT"); the config keys sip.tls.*, which the
// start-up errors name. PEM files; key_file empty: the key is in cert_file.
struct TlsConfig {
  std::string cert_file, key_file, ca_file;
  // Peers must present a certificate that chains to ca_file (and servers we connect to are
  // verified against it); false: no certificate is asked for or checked.
  bool verify_peer = false;
};

// Checks the files of `tls` (readable, PEM, an unencrypted key that matches the certificate,
// a certificate not expired, a CA file with a certificate) without writing anything; what
// Stack::create does first, and `swmld check --config`. Errors name the configuration key
// ("sip.tls.key_file '/x': does not match the certificate in sip.tls.cert_file"). Any thread.
Status check_tls_files(const TlsConfig& tls);

struct StackConfig {
  // "udp:127.0.0.1:5060", "tcp:127.0.0.1:5060", "udp:[::1]:5060", "tls:127.0.0.1:5061". At
  // most two distinct host:port groups (udp and tcp may share one; tls needs its own): that
  // is what one nua instance binds.
  std::vector<std::string> listen{"udp:127.0.0.1:5060"};
  TlsConfig tls;  // used when a listen address is tls:
  std::string public_address;  // host for Contact (and IncomingCall::local_address); empty: the listen host
  std::string user_agent = "swmld/0.1";
  int drain_retry_after_s = 30;    // Retry-After of the 503 sent while draining
  int shutdown_timeout_ms = 5000;  // bound on nua_shutdown
  int sofia_log_level = 1;         // 0..9, Sofia's own log (nua/nta/tport) -> spdlog debug
  // SO_RCVBUF of the UDP sockets (TPTAG_UDP_RMEM; the kernel caps it at net.core.rmem_max).
  // With the kernel default (208 KiB) a short stall of the SIP thread on shared cores drops
  // datagrams and the far end retransmits: a 300 ms stall at 1,300 calls/s lost 4,010
  // datagrams and failed 561 calls; with 4 MiB none (docs/performance.md).
  unsigned udp_rmem_bytes = 4u << 20;
  // Bounds on what a peer can hold (TCP): a connection with no complete message for
  // `tcp_idle_timeout_ms` is closed (TPTAG_IDLE); a message still incomplete after
  // `message_timeout_ms` closes its connection (TPTAG_TIMEOUT: slow or broken senders, a
  // non-SIP line after which Sofia stops reading); a message larger than `max_message_bytes`
  // is refused and its connection closed (NTATAG_MAXSIZE; Sofia's default is 2 MiB).
  unsigned tcp_idle_timeout_ms = 600'000;
  unsigned message_timeout_ms = 32'000;
  // RFC 3261's 64 x T1 (NTATAG_SIP_T1X64): how long a request of ours waits for its final
  // response (Timers B, F: an unanswered BYE or REFER ends as 408), how long our 200 waits for
  // its ACK (Timer H: then Sofia sends BYE), and how long an answered transaction is kept to
  // absorb retransmissions (Timer J: what a flood holds in memory).
  unsigned transaction_timeout_ms = 32'000;
  unsigned max_message_bytes = 64u << 10;
  // What Sofia does not bound, swmld's TCP guard does (src/sip/tcp_guard.hpp): at most this
  // many connections from one IP address (the newest beyond it are closed; 0: no limit), and
  // a connection that sends nothing, trickles bytes without a complete request, or that
  // Sofia stopped reading is closed after `message_timeout_ms`.
  unsigned tcp_max_connections_per_source = 64;
};

// TCP connections the guard closed, by reason (StackConfig above).
struct TcpGuardStats {
  std::uint64_t over_limit = 0, silent = 0, trickle = 0, unread = 0;
};

// One inbound INVITE, copied out of the message on the SIP thread. Immutable afterwards.
struct IncomingCall {
  std::string sip_call_id, request_uri, from_uri, from_display, to_uri, contact_uri;
  std::string source_ip;
  int source_port = 0;
  std::string transport;  // "udp" / "tcp" / "tls"
  // Headers Sofia does not parse itself (every X-* header among them), in message order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string remote_sdp;  // the INVITE's SDP offer; empty for a late-offer INVITE
  std::string local_address;  // our address toward this caller: for the SDP c= and o= lines
  // The INVITE's Proxy-Authorization values, in order, for routes[].auth (DigestAuth);
  // never logged.
  std::vector<std::string> proxy_authorization;
};

// One inbound call: the call contract's signalling side, implemented on the SIP thread.
// Every method is thread-safe: it runs inline on the SIP thread, and is posted there from
// any other thread. Calls that do not fit the leg's state are ignored (logged), e.g. ring()
// after answer(). Events go to the sink given to attach(); those raised before it are kept
// and replayed in order. Ended carries: remote_hangup (BYE), cancel, ack_timeout, local (our
// bye()/reject()), shutdown, failure (with the transaction's status). ReferResponse carries
// Sofia's code for local failures (e.g. 408, 503), or 0 when the REFER was not sent at all
// (no confirmed dialog, or another REFER still waiting for its response).
class Leg : public call::CallControl {
 public:
  virtual const IncomingCall& info() const = 0;  // any thread
  // 407 Proxy Authentication Required with this Proxy-Authenticate value (DigestAuth's
  // challenge), before answer; the leg then ends like after reject(). Any thread.
  virtual void challenge(std::string proxy_authenticate) = 0;
};

// One outbound INVITE (connect), after the dialer's toll-fraud check and gateway mapping.
struct OutboundCall {
  std::string request_uri;  // sip:/sips: URI the INVITE is for
  std::string proxy;        // where to send it (the gateway), a sip: URI; empty: request_uri.
                            // Every request of the dialog goes there (an outbound proxy).
  std::string from_uri;     // From; empty: sip:swmld@<our address>
  std::string from_display;
  // Extra headers, in order; one with CR/LF or a name the stack writes (Via, From, To,
  // Contact, Route, Content-*, Session-Expires, ...) is dropped with a warning.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string sdp;          // our offer
  std::string username, password;  // digest, for a 401/407 challenge; never logged
  // Session-Expires (RFC 4028) with us as refresher (re-INVITE at half the interval);
  // Min-SE is min(this, 90). 0: no session timer.
  int session_timeout_s = 0;
  std::string log_context;         // the dialling call's log prefix
  // Asked (on the SIP thread) before a 3xx is followed to `uri`: an empty string allows it,
  // else why not (the leg then ends rejected with the 3xx). Empty function: always allowed.
  std::function<std::string(const std::string& uri)> allow_redirect;
};

class Stack {
 public:
  // Runs ON THE SIP THREAD for every new INVITE; must return quickly (admission decisions
  // and SDP negotiation are fine, nothing that blocks).
  using InviteHandler = std::function<void(std::shared_ptr<Leg>)>;

  // Starts the SIP thread and binds every listen address; an Error names the address that
  // could not be parsed or bound.
  static Result<std::unique_ptr<Stack>> start(StackConfig config, InviteHandler on_invite);
  // The same in two steps: create() checks the configuration and the listen addresses and
  // makes executor() and make_timer() usable; run() starts the SIP thread and binds.
  static Result<std::unique_ptr<Stack>> create(StackConfig config);
  Status run(InviteHandler on_invite);

  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  ~Stack();  // shutdown() if not done

  // Stop accepting: new INVITEs get 503 + Retry-After, out-of-dialog OPTIONS 503.
  // Calls in progress continue. Any thread.
  void drain();
  // nua_shutdown (BYE/reject of whatever is left), bounded by shutdown_timeout_ms, then
  // destroys the stack on the SIP thread and joins it. Idempotent. Any thread but the SIP one.
  void shutdown();
  std::size_t active_legs() const;  // legs not terminated yet; any thread

  // Sends an INVITE for `call`; the returned leg reports to `events` as call::Dialer says:
  // Ringing once per 1xx code but 100, RemoteSdp{answer} before the Ringing of an 18x with
  // SDP and before Answered when the 2xx's SDP is new, Answered once the ACK is sent, then
  // RemoteSdp offers (re-INVITEs), ReferResponse/ReferNotify, and Ended exactly once:
  // rejected (3xx after 3 redirects followed, 4xx-6xx after one digest retry; sip_code and
  // reason phrase), failure (Sofia's own 408 timeout or 503 transport error; a failed
  // session refresh), local (our bye()/reject(): CANCEL before the answer, BYE after),
  // remote_hangup, shutdown. Any thread; non-blocking (the INVITE goes out on the SIP
  // thread). After drain() or shutdown() the leg ends at once (failure, 503) without
  // sending anything; a stack never run() returns null (and posts that Ended too).
  // src/sip/README.md, "Outbound legs", has the details.
  std::shared_ptr<call::CallControl> dial(OutboundCall call, std::shared_ptr<call::Events> events);
  TcpGuardStats tcp_guard_stats() const;  // any thread

  // The SIP thread as an Asio executor, for work that should live there (engine.mode:
  // sip_thread). Handlers run on the SIP thread in FIFO order, never inline in the caller.
  // After the loop ends at shutdown, queued handlers and the context's services (strands)
  // are destroyed on the SIP thread, unrun. Valid while the Stack exists.
  boost::asio::any_io_executor executor() const;
  // A timer whose `fire` runs on the SIP thread. Any thread may arm, cancel and destroy it,
  // also after the stack has shut down (it then never fires).
  std::unique_ptr<DeadlineTimer> make_timer() const;

 private:
  class Impl;
  explicit Stack(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace swmld::sip
