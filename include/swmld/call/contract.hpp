// The one contract between the interpreter and a call leg (design.md §2): what the engine
// asks of a leg's signalling (CallControl, implemented by sip::Leg itself) and of its media
// (MediaControl, implemented by media::Session), and the events both report back (Event).
// A new call event is declared here once: add it to `Event`, raise it where it happens,
// handle it in the engine. Header-only; depends on core only, so sip and media do not know
// the engine and the engine does not know Sofia or RTP.
//
// Threading: the engine calls every CallControl/MediaControl method on the call's strand;
// none of them blocks. Events may be posted from any thread (the SIP thread, a media thread):
// the engine's Events implementation hops to the call's strand.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "swmld/core/error.hpp"

namespace swmld::call {

// ---- events: a leg -> the interpreter ----------------------------------------------------

// Why a leg ended.
enum class EndCause {
  remote_hangup,  // the far end sent BYE
  cancel,         // the caller sent CANCEL before we answered
  ack_timeout,    // no ACK for our 200 OK (the leg sent BYE itself)
  local,          // we ended it (reject() or bye())
  shutdown,       // the SIP stack shut down with the leg still up
  failure,        // a transaction or transport failure; Ended::sip_code says which
  rejected,       // outbound: our INVITE got a final 3xx-6xx (Ended::sip_code), after any
                  // digest retry and redirect the leg followed itself
};

constexpr const char* to_string(EndCause c) {
  switch (c) {
    case EndCause::remote_hangup:
      return "hangup";
    case EndCause::cancel:
      return "cancel";
    case EndCause::ack_timeout:
      return "ack_timeout";
    case EndCause::local:
      return "local";
    case EndCause::shutdown:
      return "shutdown";
    case EndCause::failure:
      return "error";
    case EndCause::rejected:
      return "rejected";
  }
  return "?";
}

enum class DtmfSource { rfc4733, sip_info };

// The dialog is confirmed (once). Inbound: our 200 OK was acknowledged. Outbound: a 2xx to
// our INVITE arrived and the leg sent its ACK; the 2xx's SDP came just before, as a
// RemoteSdp{answer}.
struct Answered {};
struct Ended {       // the leg is gone; always the last event of a leg, exactly once
  EndCause cause = EndCause::remote_hangup;
  int sip_code = 0;  // failure, rejected: the status that ended it
  std::string reason;  // rejected: the response's reason phrase (for logs); may be empty
};
// Outbound: a provisional response to our INVITE (180, 181, 182, 183), once per code.
// When it carried SDP (early media), a RemoteSdp{answer} was posted just before it.
struct Ringing {
  int code = 180;
};
// An SDP body from the far end after the INVITE (whose offer the media session was opened
// with): an offer in a re-INVITE (answer it with CallControl::answer_offer), or the answer
// to our offer, in the ACK of a late-offer INVITE or of a re-INVITE without SDP.
struct RemoteSdp {
  enum class Kind { offer, answer };
  Kind kind = Kind::offer;
  std::string sdp;  // an offer may be empty: a re-INVITE without SDP wants our offer
};
struct ReferResponse {  // the final response to our REFER, after any digest retry
  int code = 0;         // 0: the REFER could not be sent in this dialog
};
struct ReferNotify {        // a NOTIFY of the REFER's implicit subscription (may precede the 202)
  int sipfrag_code = 0;     // status line of the message/sipfrag body; 0 when it had none
  bool terminated = false;  // Subscription-State: terminated
};
struct Dtmf {      // one key press, reported once (RFC 4733 retransmissions folded)
  char digit = 0;  // 0-9 * # A-D
  DtmfSource source = DtmfSource::rfc4733;
};

using Event = std::variant<Answered, Ended, RemoteSdp, ReferResponse, ReferNotify, Dtmf, Ringing>;

// Where a leg reports. One sink per leg: the engine's sink knows which leg it belongs to.
// Thread-safe; events after the call ended are dropped.
class Events {
 public:
  virtual ~Events() = default;
  virtual void post(Event event) = 0;
};

// ---- signalling of one leg ---------------------------------------------------------------

struct ReferRequest {
  std::string to_uri;       // sip:, sips: or tel: URI (validated by the engine)
  std::string referred_by;  // URI for Referred-By; empty: the leg's local URI
  std::string username;     // digest credentials for one 401/407 challenge; may be empty
  std::string password;     // never logged
};

// An outbound leg's control is a CallControl too: bye() before the answer sends CANCEL
// (reject() likewise), after it BYE; refer() and send_info_digits() work once answered;
// ring(), progress(), answer() and answer_offer() mean nothing on it (ignored, logged).
class CallControl {
 public:
  virtual ~CallControl() = default;
  // Where this leg reports. Events raised before attach() are kept and replayed in order.
  virtual void attach(std::shared_ptr<Events> events) = 0;
  virtual void ring() = 0;                           // 180 Ringing, once, before answer
  virtual void progress(std::string local_sdp) = 0;  // 183 with SDP (early media), once
  virtual void answer(std::string local_sdp) = 0;    // 200 OK -> Answered or Ended
  // Answers the re-INVITE of the last RemoteSdp offer: 200 with `local_sdp`, or 488 when it
  // is empty (the offer was not acceptable; the call stays up).
  virtual void answer_offer(std::string local_sdp) = 0;
  // Final response before answer (code 300..699); after answer it sends BYE instead.
  virtual void reject(int code, int retry_after_s = 0) = 0;
  virtual void bye() = 0;                                 // BYE; before answer: reject(480)
  virtual void refer(ReferRequest request) = 0;           // -> ReferResponse, ReferNotify...
  virtual void send_info_digits(std::string digits) = 0;  // one INFO dtmf-relay per digit
};

// ---- media of one leg --------------------------------------------------------------------

// Playable sounds (swml-reference §8) and how to speak `say:` ones.
struct PlayRequest {
  std::vector<std::string> urls;  // say:, silence:, ring:, http(s):// or a local path
  double volume = 0;              // dB, -40..40
  std::string say_voice;
  std::string say_language;
  std::string say_gender;
};

// A recording of a leg's audio (record, record_call). `speak` is what the leg receives
// (the caller's voice, decoded RTP), `listen` what the leg's stream sends (played or, once
// bridged, relayed audio). Written on a worker thread to `path` + ".part", renamed to
// `path` when complete; the folders above it are created.
struct RecordRequest {
  enum class Direction { speak, listen, both };
  std::string path;
  std::string format = "wav";  // "wav" (PCM 16-bit, 8 kHz) or "mp3"
  Direction direction = Direction::speak;
  bool stereo = false;               // left: speak, right: listen
  bool beep = false;                 // a short tone toward the leg first, not recorded
  std::string terminators;           // RFC 4733 keys that end it (record_call; record watches all)
  double initial_timeout_s = 0;      // no speech this long from the start: no_input; 0: none
  double end_silence_timeout_s = 0;  // silence this long after speech ends it; 0: none
  double max_length_s = 0;           // 0: none
  double input_sensitivity = 44;     // 0..100: higher hears quieter speech
};

struct RecordResult {
  // Why it ended: "stopped" (stop_record, a terminator), "silence", "no_input",
  // "max_length", "hangup" (the leg's media closed), "error".
  std::string end;
  std::string error;          // set when end is "error": what went wrong (for logs)
  char terminator = 0;        // the key that ended it, if one did
  std::uint64_t samples = 0;  // 8 kHz frames written
  std::uint64_t dropped = 0;  // samples lost to a writer that fell behind
  std::uint64_t bytes = 0;    // the file's size
  // Wall-clock time from the recording's first packet slot to its stop on the media thread
  // (0 when the writer ended it: a timeout, max_length, an error): samples / 8000 should
  // match it within a slot, or audio was lost or invented.
  double elapsed_s = 0;
  double duration_s() const { return static_cast<double>(samples) / 8000.0; }
};

class MediaControl {
 public:
  virtual ~MediaControl() = default;
  // Where RFC 4733 digits are reported (Dtmf events).
  virtual void attach(std::shared_ptr<Events> events) = 0;
  // The SDP to send with 183/200: the answer to the INVITE's offer the session was opened
  // with, or our offer when the INVITE had none. Takes the RTP port on first use; an Error
  // when none is free (the call is then refused with 503).
  virtual Result<std::string> local_sdp() = 0;
  // SDP that came later (RemoteSdp): for an offer, our answer (an Error: not acceptable,
  // answer 488); for an empty offer, our offer; for an answer, an empty string.
  virtual Result<std::string> remote_sdp(const RemoteSdp& sdp) = 0;
  // True when the far end negotiated telephone-event (send_digits then uses RFC 4733).
  virtual bool telephone_event() const = 0;
  // Plays the sounds in order. `done` runs once, on any thread: an empty string when all
  // played, else what went wrong (sounds that failed are skipped, the rest still play).
  virtual void play(const PlayRequest& request, std::function<void(std::string error)> done) = 0;
  // Stops what plays (its `done` still runs) and any digits being sent.
  virtual void stop() = 0;
  // Sends `digits` as RFC 4733 events (w = 0.5 s pause, W = 1 s). `done` as for play().
  virtual void send_digits(const std::string& digits,
                           std::function<void(std::string error)> done) = 0;
  // The leg ended: stop sending, release the port. Idempotent.
  virtual void close() = 0;

  // Bridging (connect): relays media between this leg and `other` both ways until
  // unbridge() on either or close() of either. What one leg receives goes out on the other
  // through that leg's own sending path (so what a leg sends -- played or relayed -- is one
  // stream a recording can tap), transcoded and re-packetised where the two legs' codecs or
  // ptime differ; RFC 4733 digits are relayed as events. A play() on a bridged leg replaces
  // the relayed audio toward it while it plays. Errors: `other` is not a session of the same
  // media service, or either has no RTP port yet (local_sdp() not called).
  virtual Status bridge(MediaControl& other) {
    (void)other;
    return Error{ErrorCode::internal_error, "this media does not bridge"};
  }
  virtual void unbridge() {}

  // Recording: starts one (several may run at once) and returns its id for stop_record.
  // `done` runs once, on any thread, when the file is complete (or failed), whatever ends
  // it: stop_record, a terminator, a timeout, or close() of the leg.
  virtual std::uint64_t record(const RecordRequest& request,
                               std::function<void(RecordResult)> done) {
    (void)request;
    RecordResult r;
    r.end = "error";
    r.error = "this media does not record";
    done(std::move(r));
    return 0;
  }
  // Ends recording `id` (its `done` still runs); an unknown or finished id is ignored.
  virtual void stop_record(std::uint64_t id) { (void)id; }
};

// ---- outbound legs (connect) ---------------------------------------------------------------

// One outbound INVITE, as the engine asks for it. `to` is the destination as the document
// wrote it (an E.164 number or a sip:/sips: URI); the dialer maps numbers to the configured
// gateway and checks the toll-fraud rules before anything is sent.
struct DialRequest {
  std::string to;
  std::string from;          // caller ID: a number or a URI; empty: the dialer's default
  std::string from_name;     // display name of From; may be empty
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (X-..., ...)
  std::string local_sdp;     // our SDP offer (the outbound leg's media session's local_sdp())
  std::string username;      // digest credentials for one 401/407 challenge; may be empty
  std::string password;      // never logged
  int session_timeout_s = 0; // Session-Expires (RFC 4028, refreshed by the leg); 0: none
  std::string call_id;       // swmld's id of the call that dials (logs, Call-ID is the stack's)
  std::string log_context;   // the dialling call's log prefix
};

// What dial() gives back: a leg, or why none was started.
struct Dialed {
  std::shared_ptr<CallControl> leg;  // null when refused
  // When refused: "denied" (toll-fraud rules), "rate_limited" (outbound.* limits),
  // "unsupported" (queue:, stream:, rooms), "invalid" (not a number or SIP URI), "error".
  std::string refused;
  std::string detail;  // for the log and connect_failed_reason's record: the rule, the limit
};

// Places outbound calls. The leg reports to `events`: Ringing, RemoteSdp{answer}, Answered,
// Ended (rejected with the final status, failure for a timeout or transport error, local
// after our bye()). Non-blocking; called on the call's strand.
class Dialer {
 public:
  virtual ~Dialer() = default;
  virtual Dialed dial(DialRequest request, std::shared_ptr<Events> events) = 0;
};

}  // namespace swmld::call
