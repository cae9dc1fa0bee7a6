// Running one SWML document on one call: the engine's public entry point.
// A CallRun lives on its own strand (an executor that runs one handler at a time: a strand of
// the engine threads' io_context, or the SIP thread); everything it owns is touched only
// there, so call state needs no locks (design.md §3).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "swmld/core/deadline_timer.hpp"
#include "swmld/core/error.hpp"
#include "swmld/core/metrics.hpp"
#include "swmld/core/value.hpp"
#include "swmld/engine/ports.hpp"
#include "swmld/swml/document.hpp"
#include "swmld/swml/expression.hpp"

namespace swmld::engine {

// Uploads a finished recording: `path` (the local file) to `url`; `done` runs once, on any
// thread, with "" or why it failed after its retries. Called on the recorder's thread.
using RecordingUploader =
    std::function<void(const std::string& url, const std::string& path,
                       const std::string& content_type, std::function<void(std::string)> done)>;

struct EngineConfig {
  int max_steps = 10000;         // per call; a runaway document ends with an error
  int max_depth = 64;            // nested `execute` frames (relay_script_nested_too_deep)
  int max_jump_chain = 32;       // transfers/gotos in a row with no other step between
  // Backstops: the SIP stack itself ends both after sip.transaction_timeout (no ACK: BYE
  // and Ended{ack_timeout}; no response: 408), so these are set a little longer.
  std::chrono::milliseconds answer_timeout{34000};          // 200 OK sent -> ACK received
  std::chrono::milliseconds refer_response_timeout{34000};  // REFER sent -> final response
  std::chrono::milliseconds refer_notify_timeout{15000};  // 202 -> final NOTIFY
  std::string referred_by;       // Referred-By URI for sip_refer; empty: the call's local URI
  // SIP status that rejects a call whose document cannot be fetched (http.fetch_failure_code);
  // a 503 carries Retry-After: 5.
  int fetch_failure_code = 503;
  // `request`: its default total timeout, and the most a step may ask for (swml-reference
  // §9.13: "default 5, max 5"); its steps per call, past which request_result is
  // limit_exceeded (swml-reference: 10 per document).
  static constexpr double kRequestTimeoutMaxS = 5;
  double request_timeout_s = kRequestTimeoutMaxS;
  int max_requests = 10;
  double request_connect_timeout_s = 3;   // `request` default connect timeout
  std::size_t request_max_body = 64 * 1024;
  std::size_t request_max_headers = 64;
  // Callback envelope fields (swml-reference §6).
  std::string project_id;
  std::string space_id;
  std::string node_id;
  // Recordings (record, record_call): the folder files go to, as
  // <dir>/<YYYY-MM-DD>/<call id>-<n>.<format> (n: 1, 2, ...); and what record_url says: this
  // template with {path} (the part below dir), {call_id}, {control_id}, {format} replaced,
  // or, empty, file:// and the file's path.
  std::string recording_dir = "/var/lib/swmld/recordings";
  std::string recording_url;
  // Where finished recordings are uploaded (the same placeholders), by upload_recording;
  // empty, or no uploader: they stay in recording_dir.
  std::string recording_upload_url;
  RecordingUploader upload_recording;
  bool ring_on_start = true;     // send 180 Ringing when the document starts
  // Scales every wait (sleep, timeouts). 1 for real calls; 0 makes `swmld simulate` instant.
  double time_scale = 1.0;
  // Unix time in seconds for callback timestamps; replaceable for deterministic output.
  std::function<double()> wall_clock;
  // Ids of new things (connect's outbound legs); empty: random UUIDs. `swmld simulate`
  // numbers them for deterministic output.
  std::function<std::string()> new_id;
  swml::SandboxLimits sandbox;
  // Runs a job on another thread (the expression worker): a call's JavaScript moves there
  // once it has taken `expression_strand_share` of evaluation time on the call's strand, or
  // one evaluation outlasted `expression_slice` (it is then run again there). Each job uses
  // the call's heap alone; the call waits for it. Empty: every evaluation runs on the strand
  // (`swmld simulate`, unit tests). docs/architecture.md, "Expressions off the SIP thread".
  std::function<void(std::function<void()>)> run_expressions_elsewhere;
  std::chrono::microseconds expression_slice{2000};
  std::chrono::microseconds expression_strand_share{5000};
  // A call lets the other handlers of its strand run every this many steps, so a loop of
  // cheap steps (goto storms, up to max_steps) cannot hold the SIP thread in one go.
  int yield_every_steps = 16;
  // Counters of steps and REFER results (swmld_steps_total, swmld_refer_results_total);
  // may be null. Must outlive every call.
  Metrics* metrics = nullptr;
  // Makes the timer of each call's wait deadlines (its `fire` may run on any thread: the
  // engine posts to the call's strand itself). Null: an Asio steady_timer, which needs the
  // calls' executor to belong to an io_context. `engine.mode: sip_thread` supplies the SIP
  // thread's timers.
  std::function<std::unique_ptr<DeadlineTimer>()> make_timer;
  // Told of every runtime warning (an error the document goes on after, already logged), on
  // the call's strand; may be empty. `swmld simulate` prints them as action lines.
  std::function<void(const Error&)> on_warning;
};

// What the executor reaches the world through. The per-call ports are owned by the run;
// the shared services outlive every call.
struct CallPorts {
  // The inbound leg: its signalling (shared: the SIP stack holds the leg too) and its media
  // session (may be null: media steps then fail cleanly).
  std::shared_ptr<call::CallControl> call;
  std::unique_ptr<call::MediaControl> media;
  std::shared_ptr<HttpClient> http;          // may be null: `request` then fails cleanly
  std::shared_ptr<EventPoster> events;       // may be null: callbacks are dropped with a log
  std::shared_ptr<DocumentFetcher> fetcher;  // may be null: URL destinations fail cleanly
  // Outbound legs (connect): the dialer, and a media session for each new leg (opened with no
  // offer: its local_sdp() is our offer, the answer comes as RemoteSdp{answer}). Either null:
  // connect fails cleanly (connect_failed_reason "error").
  std::shared_ptr<call::Dialer> dialer;
  std::function<Result<std::unique_ptr<call::MediaControl>>()> open_media;
};

struct CallSetup {
  // The document to run; when null, `document_url` is fetched first (POST {call, vars, envs,
  // params}), then `fallback_url` if that fails. Before the document runs, a fetch failure
  // rejects the call (HangupReason::fetch_failed).
  swml::DocumentPtr document;
  std::string document_url;
  std::string fallback_url;
  // The `call` variable (swml-reference §4.1), built the first time the call reads it (an
  // expression, a fetch, a callback): a call that never does (answer, sip_refer, hangup)
  // skips building it on the SIP thread. Null: an object holding just `call_id`.
  std::function<Value()> make_call;
  std::string call_id;
  Value params = Value::object();  // initial `params` (route params)
  Value envs = Value::object();
  Value vars = Value::object();    // initial `vars` (normally empty)
  std::string log_context;         // prefix of every log line of this call, e.g. "call=… sip=…"
};

struct CallOutcome {
  std::string end_reason;           // "hangup", "remote_hangup", "end_of_document", "error"
  std::optional<Error> error;       // the runtime error that ended the call, if any
  Value vars;                       // the final variables
};

class CallRun {
 public:
  // Starts running `setup.document` on `executor`, which must run one handler at a time (a
  // strand, or a context run by a single thread): it becomes the call's strand. The inbound
  // leg's ports are attached to the call's event sinks before this returns, so events they
  // raise from then on reach the call (those raised before are replayed by the ports).
  // `done` runs once, there, after the call has ended and nothing of it is pending any more.
  // `config` must outlive the call.
  static std::shared_ptr<CallRun> start(boost::asio::any_io_executor executor,
                                        const EngineConfig& config, CallPorts ports,
                                        CallSetup setup,
                                        std::function<void(CallOutcome)> done);
  // The same with a configuration the call keeps alive: a configuration reload (SIGHUP)
  // replaces the server's, while each running call keeps the one it started with.
  static std::shared_ptr<CallRun> start(boost::asio::any_io_executor executor,
                                        std::shared_ptr<const EngineConfig> config,
                                        CallPorts ports, CallSetup setup,
                                        std::function<void(CallOutcome)> done);
  virtual ~CallRun() = default;
};

}  // namespace swmld::engine
