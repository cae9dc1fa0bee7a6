// The daemon's object graph and the path of a call: admission and routing on the SIP
// thread, the interpreter on the SIP thread too (engine.mode: sip_thread) or on the engine
// threads (engine.mode: threads), callbacks through the HTTP worker. Signals on the main
// thread: SIGHUP reloads the configuration, SIGTERM/SIGINT drain.
#include "server.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <cmath>
#include <csignal>
#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "audio_fetcher.hpp"
#include "document_fetcher.hpp"
#include "engine_http.hpp"
#include "metrics_server.hpp"
#include "outbound_dialer.hpp"
#include "outbound_policy.hpp"
#include "recording_upload.hpp"
#include "reload.hpp"
#include "route_table.hpp"
#include "sd_notify.hpp"
#include "sip_uri.hpp"
#include "swmld/core/ids.hpp"
#include "swmld/core/log.hpp"
#include "swmld/core/metrics.hpp"
#include "swmld/core/thread_name.hpp"
#include "swmld/core/url.hpp"
#include "swmld/engine/executor.hpp"
#include "swmld/http/client.hpp"
#include "swmld/http/event_poster.hpp"
#include "swmld/http/host_policy.hpp"
#include "swmld/media/service.hpp"
#include "swmld/sip/stack.hpp"

namespace swmld::app {
namespace {

// Status callbacks through the HTTP worker: serialised here, delivered with retries.
class CallbackPoster final : public engine::EventPoster {
 public:
  explicit CallbackPoster(http::EventPoster& poster) : poster_(&poster) {}
  // Any thread: a recording's callback may come from the recorder's thread while the server
  // stops.
  void post_event(const std::string& url, Value body) override {
    std::lock_guard lock(mu_);
    if (!poster_) {
      spdlog::warn("{} callback dropped: swmld is stopping", body.value("event_type", ""));
      return;
    }
    poster_->post(url, body.dump(-1, ' ', false, Value::error_handler_t::replace));
  }
  void close() {
    std::lock_guard lock(mu_);
    poster_ = nullptr;
  }

 private:
  std::mutex mu_;
  http::EventPoster* poster_;
};

// Appends `key` to an object without nlohmann's initializer-list form, which builds a
// temporary two-element array per key/value pair and then converts it (several heap
// allocations per key). Keys here are distinct literals, so no duplicate check is needed.
void put(Value& object, const char* key, Value value) {
  object.get_ref<Value::object_t&>().emplace_back(key, std::move(value));
}

// The `call` variable of an inbound SIP call (swml-reference §4.1). Built on the call's
// strand the first time the call reads it (engine::CallSetup::make_call), appended field by
// field (see put()): 63 heap allocations instead of 231 and 2.1 instead of 5.5 us per call
// in a micro-benchmark (docs/performance.md).
Value call_object(const sip::IncomingCall& in, const std::string& call_id,
                  const engine::EngineConfig& c) {
  Value headers = Value::array();
  for (const auto& [name, value] : in.headers) {
    Value h = Value::object();
    put(h, "name", name);
    put(h, "value", value);
    headers.push_back(std::move(h));
  }
  std::string contact(strip_scheme(in.contact_uri));
  std::string contact_host(host_of(in.contact_uri));
  std::string contact_port;
  if (auto p = contact_host.rfind(':'); p != std::string::npos && contact_host.find(']') == std::string::npos) {
    contact_port = contact_host.substr(p + 1);
    contact_host = contact_host.substr(0, p);
  }
  Value sip_data = Value::object();
  sip_data.get_ref<Value::object_t&>().reserve(14);
  put(sip_data, "sip_req_user", user_of(in.request_uri));
  put(sip_data, "sip_req_uri", strip_scheme(in.request_uri));
  put(sip_data, "sip_req_host", host_of(in.request_uri));
  put(sip_data, "sip_from_user", user_of(in.from_uri));
  put(sip_data, "sip_from_uri", strip_scheme(in.from_uri));
  put(sip_data, "sip_from_host", host_of(in.from_uri));
  put(sip_data, "sip_to_user", user_of(in.to_uri));
  put(sip_data, "sip_to_uri", strip_scheme(in.to_uri));
  put(sip_data, "sip_to_host", host_of(in.to_uri));
  put(sip_data, "sip_contact_user", user_of(in.contact_uri));
  put(sip_data, "sip_contact_port", std::move(contact_port));
  put(sip_data, "sip_contact_uri", std::move(contact));
  put(sip_data, "sip_contact_host", std::move(contact_host));
  put(sip_data, "sip_contact_params", Value::object());
  Value call = Value::object();
  call.get_ref<Value::object_t&>().reserve(12);
  put(call, "call_id", call_id);
  put(call, "node_id", c.node_id);
  put(call, "segment_id", call_id);
  put(call, "call_state", "created");
  put(call, "direction", "inbound");
  put(call, "type", "sip");
  put(call, "from", in.from_uri);
  put(call, "to", in.to_uri);
  put(call, "headers", std::move(headers));
  put(call, "sip_data", std::move(sip_data));
  put(call, "project_id", c.project_id);
  put(call, "space_id", c.space_id);
  return call;
}

// Every call holds an RTP socket, and a port's socket stays open between its calls (its
// media.PortPool): raise the descriptor limit to what the system allows and say when even
// that is short of the configuration (1,024 is a common default soft limit).
void raise_descriptor_limit(const Config& c) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  const auto& ports = c.media.rtp_ports;
  const auto sockets_per_port = c.media.rtcp ? 2u : 1u;
  const rlim_t wanted = static_cast<rlim_t>((ports.second - ports.first + 1) / 2) * sockets_per_port +
                        static_cast<rlim_t>(c.max_calls) + 256;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < wanted)
    spdlog::warn("open files limit {} is below the {} this configuration may use (RTP sockets "
                 "of rtp.port_min-port_max, calls, connections): raise LimitNOFILE / ulimit -n",
                 rl.rlim_cur, wanted);
}

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "swmld";
  return buf;
}

// Defaults that depend on the machine, filled the same way at start-up and at each reload
// (so a reload does not see them as changes).
void fill_defaults(Config& c) {
  if (c.node_id.empty()) c.node_id = hostname();
}

// What calls see of the configuration. Built whole on the main thread, handed to the SIP
// thread, never modified: a reload replaces it. A call takes its route, document, params,
// envs and engine configuration (step budget, REFER timeout...) from the snapshot in force at
// its INVITE and keeps them to its end.
struct Snapshot {
  Config config;
  std::shared_ptr<const RouteTable> routes;
  std::shared_ptr<const engine::EngineConfig> engine;
  // What connect may dial (outbound.*): for each call's OutboundDialer.
  std::shared_ptr<const OutboundPolicy> outbound;
};

double unix_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

class Server::Impl {
 public:
  Impl(Config config, ConfigSource source) : config_(std::move(config)), source_(std::move(source)) {}

  Status start() {
    fill_defaults(config_);
    raise_descriptor_limit(config_);
    cps_tokens_ = config_.max_cps;
    // Documents of file routes are loaded and validated here and at each reload; URL routes
    // are fetched for each call.
    auto routes = RouteTable::build(config_);
    if (!routes) return routes.error();
    describe_metrics();

    http::ClientConfig hc;
    hc.timeout_s = config_.http_timeout;
    hc.connect_timeout_s = config_.http_connect_timeout;
    hc.user_agent = config_.http_user_agent;
    hc.verify_tls = config_.http_verify_tls;
    hc.ca_file = config_.http_ca_file;
    hc.allowed_hosts = config_.http_allowed_hosts;
    hc.block_private = config_.http_block_private;
    http_ = std::make_unique<http::Client>(hc);
    FetchConfig fc;
    fc.retries = config_.http_retries;
    fc.timeout_s = config_.http_timeout;
    fc.connect_timeout_s = config_.http_connect_timeout;
    fc.signing_secret = config_.http_signing_secret;
    fc.signature_header = config_.http_signature_header;
    fetcher_ = std::make_shared<HttpDocumentFetcher>(*http_, fc);
    http::EventPosterConfig pc;
    pc.max_queue = config_.callback_queue;
    pc.max_retries = config_.callback_retries;
    pc.signing_secret = config_.http_signing_secret;
    pc.signature_header = config_.http_signature_header;
    poster_ = std::make_unique<http::EventPoster>(*http_, pc);
    engine_http_ = make_engine_http(*http_);
    callbacks_ = std::make_shared<CallbackPoster>(*poster_);

    auto media = media::Service::start(config_.media, make_audio_fetcher(*http_));
    if (!media) return media.error();
    media_ = std::move(*media);
    const auto& rtp = config_.media.rtp_ports;
    const int port_pairs = (rtp.second - rtp.first + 1) / 2;
    if (port_pairs < config_.max_calls)
      spdlog::warn("rtp.port_min-port_max ({}-{}) holds {} calls, fewer than limits.max_calls ({}): "
                   "calls beyond it are refused with 503",
                   rtp.first, rtp.second, port_pairs, config_.max_calls);

    // engine.mode sip_thread: the io_context only serves /metrics, one thread is plenty.
    const bool on_sip_thread = config_.engine_mode == "sip_thread";
    int threads = on_sip_thread ? 1
                  : config_.engine_threads > 0
                      ? config_.engine_threads
                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 0; i < threads; ++i) {
      engine_threads_.emplace_back([this, i] {
        name_this_thread("swmld-engine-" + std::to_string(i));
        io_.run();
      });
    }
    expr_thread_ = std::thread([this] {
      name_this_thread("swmld-expr");
      // Below the other threads (nice 10): on a busy machine, the JavaScript of costly
      // documents waits for the CPU, not the signalling. Best effort.
      (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
      expr_io_.run();
    });
    // The endpoint first: /readyz says "starting" until the SIP stack listens.
    if (!config_.metrics_listen.empty()) {
      auto m = MetricsServer::start(io_, config_.metrics_listen, [this] { return render_metrics(); },
                                    draining_, ready_);
      if (!m) return m.error();
      metrics_server_ = *m;
      spdlog::info("metrics on http://{}/metrics", config_.metrics_listen);
    }

    sip::StackConfig sc;
    sc.listen = config_.sip_listen;
    sc.public_address = config_.sip_public_address;
    sc.user_agent = config_.sip_user_agent;
    sc.tcp_idle_timeout_ms = static_cast<unsigned>(config_.sip_tcp_idle_timeout_s * 1000);
    sc.message_timeout_ms = static_cast<unsigned>(config_.sip_message_timeout_s * 1000);
    sc.transaction_timeout_ms = static_cast<unsigned>(config_.sip_transaction_timeout_s * 1000);
    sc.max_message_bytes = static_cast<unsigned>(config_.sip_max_message_bytes);
    sc.tls.cert_file = config_.sip_tls_cert_file;
    sc.tls.key_file = config_.sip_tls_key_file;
    sc.tls.ca_file = config_.sip_tls_ca_file;
    sc.tls.verify_peer = config_.sip_tls_verify_peer;
    sc.tcp_max_connections_per_source = static_cast<unsigned>(config_.sip_tcp_max_connections_per_source);
    auto stack = sip::Stack::create(sc);
    if (!stack) return stack.error();
    stack_ = std::move(*stack);
    // connect's outbound legs: node-wide rate limit and counter, then the SIP stack.
    outbound_guard_ = std::make_shared<OutboundGuard>(
        [stack = stack_.get()](sip::OutboundCall c, std::shared_ptr<call::Events> events) {
          return stack->dial(std::move(c), std::move(events));
        },
        &metrics_);
    // Each call's strand: the SIP thread itself, or a new strand of the engine threads.
    if (on_sip_thread) {
      new_call_executor_ = [executor = stack_->executor()] { return executor; };
    } else {
      new_call_executor_ = [this] { return boost::asio::any_io_executor(boost::asio::make_strand(io_)); };
    }
    // Set before the SIP thread starts, which then owns it (swap_snapshot()).
    snapshot_ = make_snapshot(config_, std::move(*routes));
    auto running = stack_->run([this](const std::shared_ptr<sip::Leg>& leg) { on_invite(leg); });
    if (!running) return running.error();
    if (on_sip_thread)
      spdlog::info("swmld listening on {} ({} route(s), interpreter on the SIP thread)",
                   fmt::join(config_.sip_listen, ", "), config_.routes.size());
    else
      spdlog::info("swmld listening on {} ({} route(s), {} engine thread(s))",
                   fmt::join(config_.sip_listen, ", "), config_.routes.size(), threads);
    spdlog::info("outbound policy: {}", snapshot_->outbound->describe());
    metrics_.series("swmld_config_last_reload_success_timestamp_seconds") =
        static_cast<std::int64_t>(unix_time());
    ready_ = true;  // /readyz: 200 from now until SIGTERM
    if (auto s = notifier_.ready("serving " + std::to_string(config_.routes.size()) + " route(s)"); !s)
      spdlog::warn("sd_notify: {}", s.error().message);
    return Ok{};
  }

  int run_until_signal() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    int sig = 0;
    for (;;) {
      sigwait(&set, &sig);
      if (sig != SIGHUP) break;
      reload();
    }
    if (config_.drain_min > 0)
      spdlog::info("signal {}: draining ({} call(s) active, up to {} s, at least {} s)", sig,
                   active_.load(), config_.drain_timeout, config_.drain_min);
    else
      spdlog::info("signal {}: draining ({} call(s) active, up to {} s)", sig, active_.load(),
                   config_.drain_timeout);
    draining_ = true;
    if (auto s = notifier_.stopping(); !s) spdlog::warn("sd_notify: {}", s.error().message);
    stack_->drain();
    auto after = [start = std::chrono::steady_clock::now()](double seconds) {
      return start + std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
    };
    // Calls get up to drain_timeout; the 503s last at least drain_min (<= drain_timeout).
    auto deadline = after(config_.drain_timeout);
    auto earliest = after(config_.drain_min);
    for (auto now = std::chrono::steady_clock::now();
         now < deadline && (active_.load() > 0 || now < earliest);
         now = std::chrono::steady_clock::now())
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (active_.load() > 0) spdlog::warn("drain timeout: ending {} call(s)", active_.load());
    stop();
    spdlog::info("swmld stopped");
    return 0;
  }

  void stop() {
    if (metrics_server_) metrics_server_->stop();
    // The expression worker goes first, while the calls' strands still run: the jobs it has
    // finish (each within its 150 ms) and post their results to calls that still exist.
    // Once the SIP stack has gone, a job's result would be dropped with the call it holds,
    // whose parking belongs to a context already destroyed (ASan: heap-use-after-free on
    // SIGTERM during a worker evaluation). Later jobs run on the caller's strand.
    {
      std::lock_guard lock(expr_mu_);
      expr_open_ = false;
    }
    expr_work_.reset();
    if (expr_thread_.joinable()) expr_thread_.join();
    if (stack_) stack_->shutdown();  // ends what is left: its legs report on_terminated
    // Calls end on their strands once they see the hangup; give them a moment.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (active_.load() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    // Recordings end with their calls: their files are closed, uploaded and their callbacks
    // posted on the recorder's threads. Give them a moment too (an upload's retries are cut
    // short: the HTTP client shuts down below, the file is kept).
    deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (((media_ && media_->stats().recordings_active > 0) || uploads_->load() > 0) &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (callbacks_) callbacks_->close();  // what comes later is dropped, with a log line
    if (poster_) poster_->drain(2.0);
    work_.reset();
    io_.stop();
    for (auto& t : engine_threads_) t.join();
    engine_threads_.clear();
    stack_.reset();
    poster_.reset();
    // Audio fetches complete ("client shut down") while the media service still exists.
    if (http_) http_->shutdown();
    media_.reset();
    http_.reset();
  }

  ~Impl() {
    if (!engine_threads_.empty() || stack_ || expr_thread_.joinable()) stop();
  }

  // SIGHUP, on the main thread: reads the configuration again (file, environment, command
  // line), loads the route documents, and swaps the snapshot new calls take; running calls
  // keep theirs. A configuration that does not load or validate changes nothing.
  void reload() {
    if (auto s = notifier_.reloading(); !s) spdlog::warn("sd_notify: {}", s.error().message);
    auto done = [this] {
      if (auto s = notifier_.ready("serving " + std::to_string(config_.routes.size()) + " route(s)"); !s)
        spdlog::warn("sd_notify: {}", s.error().message);
    };
    auto refuse = [&](Error e) {
      // A key's error without a place is about the configuration file.
      if (e.pos.file.empty() && e.message.rfind("config key '", 0) == 0) e.pos.file = config_.source;
      metrics_.inc("swmld_config_reloads_total", "result=\"failed\"");
      Value fields = Value::object();
      fields["result"] = "failed";
      fields["error"] = e.str();
      fields["message"] = "configuration refused; the running configuration stays";
      log::event(spdlog::level::err, "config_reload", "", fields);
      done();
    };
    auto loaded = source_ ? source_() : Result<Config>(config_);
    if (!loaded) return refuse(loaded.error());
    fill_defaults(*loaded);
    ReloadPlan plan = plan_reload(config_, *loaded);
    auto routes = RouteTable::build(plan.config);
    if (!routes) return refuse(routes.error());
    const std::size_t route_count = (*routes)->size();
    const std::size_t documents = (*routes)->documents();
    auto next = make_snapshot(plan.config, std::move(*routes));
    auto next_outbound = next->outbound;
    swap_snapshot(std::move(next));
    const auto old_level = spdlog::get_level();
    const auto new_level = spdlog::level::from_str(plan.config.log_level);
    config_ = std::move(plan.config);
    for (const auto& key : plan.needs_restart)
      spdlog::warn("config reload: {} needs a restart; it keeps its running value", key);
    for (const auto& key : plan.changed)
      if (key.rfind("outbound.", 0) == 0) {
        spdlog::info("outbound policy: {}", next_outbound->describe());
        break;
      }
    // The reload's own line shows at the more verbose of the two levels.
    if (new_level < old_level) spdlog::set_level(new_level);
    Value fields = Value::object();
    fields["result"] = "ok";
    fields["routes"] = route_count;
    fields["documents"] = documents;
    fields["changed"] = plan.changed;
    fields["needs_restart"] = plan.needs_restart;
    fields["log_level"] = config_.log_level;
    log::event(spdlog::level::info, "config_reload", "", fields);
    if (new_level > old_level) spdlog::set_level(new_level);
    metrics_.inc("swmld_config_reloads_total", "result=\"ok\"");
    metrics_.series("swmld_config_last_reload_success_timestamp_seconds") =
        static_cast<std::int64_t>(unix_time());
    done();
  }

 private:
  std::shared_ptr<const Snapshot> make_snapshot(const Config& c, std::shared_ptr<const RouteTable> routes) {
    auto engine = std::make_shared<engine::EngineConfig>();
    engine->max_steps = c.max_steps;
    engine->sandbox.per_call =
        std::chrono::milliseconds(std::llround(c.expression_time_per_call * 1000));
    engine->run_expressions_elsewhere = [this](std::function<void()> job) {
      {
        std::lock_guard lock(expr_mu_);
        if (expr_open_) {
          boost::asio::post(expr_io_, std::move(job));
          return;
        }
      }
      job();  // stopping: the worker is gone, the job runs here (it still posts its result)
    };
    engine->refer_notify_timeout =
        std::chrono::milliseconds(static_cast<long long>(c.refer_notify_timeout * 1000));
    engine->referred_by = c.referred_by;
    engine->recording_dir = c.recording_dir;
    engine->recording_url = c.recording_url;
    engine->recording_upload_url = c.recording_upload_url;
    if (!c.recording_upload_url.empty()) {
      UploadSettings up;
      up.method = c.recording_upload_method;
      up.bearer_token = c.recording_upload_bearer_token;
      up.signing_secret = config_.http_signing_secret;  // restart-only: the start-up value
      up.signature_header = config_.http_signature_header;
      up.retries = c.recording_upload_retries;
      up.keep_local = c.recording_upload_keep_local;
      up.in_flight = uploads_;
      engine->upload_recording = make_recording_uploader(*http_, std::move(up));
    }
    // The SIP stack's own timeouts end these first (with their reason); 2 s later is a backstop.
    const auto transaction =
        std::chrono::milliseconds(std::llround(c.sip_transaction_timeout_s * 1000));
    engine->answer_timeout = transaction + std::chrono::seconds(2);
    engine->refer_response_timeout = transaction + std::chrono::seconds(2);
    engine->fetch_failure_code = c.http_fetch_failure_code;
    engine->request_timeout_s = std::min(c.http_timeout, engine::EngineConfig::kRequestTimeoutMaxS);
    engine->max_requests = c.requests_per_call;
    engine->request_connect_timeout_s = c.http_connect_timeout;
    engine->project_id = c.project_id;
    engine->space_id = c.space_id;
    engine->node_id = c.node_id;
    engine->ring_on_start = c.sip_ring;
    engine->metrics = &metrics_;
    if (c.engine_mode == "sip_thread")
      engine->make_timer = [stack = stack_.get()] { return stack->make_timer(); };
    // validate() has checked outbound.*: make() cannot fail here.
    auto outbound = OutboundPolicy::make(c.outbound);
    return std::make_shared<const Snapshot>(
        Snapshot{c, std::move(routes), std::move(engine),
                 std::make_shared<const OutboundPolicy>(outbound ? std::move(*outbound) : OutboundPolicy{})});
  }

  // Main thread: hands `next` to the SIP thread, which alone reads snapshot_, and waits until
  // it has taken it (an INVITE being routed finishes with the old one first). A SIP thread
  // busy for longer than 5 s takes it when it gets to it.
  void swap_snapshot(std::shared_ptr<const Snapshot> next) {
    auto taken = std::make_shared<std::promise<void>>();
    auto future = taken->get_future();
    boost::asio::post(stack_->executor(), [this, next = std::move(next), taken]() mutable {
      snapshot_ = std::move(next);
      // The CPS bucket keeps its tokens, capped at the new limit.
      cps_tokens_ = std::min(cps_tokens_, snapshot_->config.max_cps);
      taken->set_value();
    });
    if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
      spdlog::warn("config reload: the SIP thread has not taken the new configuration within 5 s; "
                   "it will when it gets to it");
  }

  // Runs ON THE SIP THREAD for every new INVITE: admission, routing, then the engine.
  void on_invite(const std::shared_ptr<sip::Leg>& leg) {
    const sip::IncomingCall& in = leg->info();
    // This call's view of the configuration, kept by the call (engine config, document).
    std::shared_ptr<const Snapshot> snap = snapshot_;
    const Config& config = snap->config;
    if (!snap->routes->admits(in.source_ip)) {
      spdlog::warn("INVITE {} from {} rejected: source not in limits.allow_sources", in.sip_call_id,
                   in.source_ip);
      leg->reject(403);
      metrics_.inc("swmld_calls_rejected_total", "reason=\"source\"");
      return;
    }
    if (active_.load() >= config.max_calls) {
      spdlog::warn("INVITE {} rejected: {} calls active (limits.max_calls)", in.sip_call_id,
                   active_.load());
      leg->reject(503, 5);
      metrics_.inc("swmld_calls_rejected_total", "reason=\"max_calls\"");
      return;
    }
    if (!take_cps_token(config.max_cps)) {
      spdlog::warn("INVITE {} rejected: over limits.max_cps ({}/s)", in.sip_call_id, config.max_cps);
      leg->reject(503, 1);
      metrics_.inc("swmld_calls_rejected_total", "reason=\"max_cps\"");
      return;
    }
    const Route* route = snap->routes->match(user_of(in.request_uri), user_of(in.to_uri), in.source_ip);
    if (!route) {
      spdlog::warn("INVITE {} for {} matched no route", in.sip_call_id, in.request_uri);
      leg->reject(404);
      metrics_.inc("swmld_calls_rejected_total", "reason=\"no_route\"");
      return;
    }
    if (sip::DigestAuth* auth = snap->routes->auth(*route); auth && !authenticated(*auth, *leg, *route))
      return;
    // The offer is negotiated before anything runs: nothing useful could run on a call
    // whose media we cannot answer.
    // The call's legs share a media thread: a bridge relays without a hand-over per packet.
    auto placement =
        media_->config().threads > 1 ? std::make_shared<media::Placement>() : nullptr;
    auto media = media_->open(in.remote_sdp, in.local_address, placement);
    if (!media) {
      spdlog::info("INVITE {} refused with 488: {}", in.sip_call_id, media.error().message);
      leg->reject(488);
      metrics_.inc("swmld_calls_rejected_total", "reason=\"sdp\"");
      return;
    }
    std::string call_id = new_uuid();
    engine::CallSetup setup;
    if (is_http_url(route->swml)) {
      setup.document_url = route->swml;
      setup.fallback_url = route->fallback;
    } else {
      setup.document = snap->routes->document(*route);
    }
    setup.call_id = call_id;
    setup.make_call = [leg, call_id, engine = snap->engine] {
      return call_object(leg->info(), call_id, *engine);
    };
    setup.params = route->params;
    setup.envs = config.envs;
    setup.log_context = "call=" + call_id + " sip_call_id=" + in.sip_call_id + " route=" + route->name;
    // Per-call lines are debug: at info a call logs only its end and its refer_result records
    // (docs/operations.md); each info line is a write(2) on a hot thread (docs/performance.md).
    spdlog::debug("{} from={} to={} source={}", setup.log_context, in.from_uri, in.to_uri, in.source_ip);

    engine::CallPorts ports;
    ports.call = leg;
    ports.media = std::move(*media);
    ports.http = engine_http_;
    ports.events = callbacks_;
    ports.fetcher = fetcher_;
    // connect: each outbound leg's media, offered from our address toward this caller.
    ports.open_media = [media = media_.get(), address = in.local_address, placement]() {
      return media->open("", address, placement);
    };
    ports.dialer = std::make_shared<OutboundDialer>(snap->outbound, outbound_guard_,
                                                    DialingCall{std::string(user_of(in.from_uri)), in.local_address});
    ++active_;
    metrics_.inc("swmld_calls_total");
    std::string ctx = setup.log_context;
    engine::CallRun::start(new_call_executor_(), snap->engine, std::move(ports),
                                      std::move(setup), [this, ctx](engine::CallOutcome o) {
                                        --active_;
                                        metrics_.inc("swmld_calls_ended_total",
                                                     "reason=\"" + o.end_reason + "\"");
                                        if (o.error) {
                                          spdlog::info("{} ended: {} ({})", ctx, o.end_reason,
                                                       to_string(o.error->code));
                                        } else {
                                          spdlog::info("{} ended: {}", ctx, o.end_reason);
                                        }
                                      });
  }

  // SIP thread: routes[].auth. False when the INVITE was answered with a 407 challenge or
  // a 403 (wrong credentials too often): the call goes no further.
  bool authenticated(sip::DigestAuth& auth, sip::Leg& leg, const Route& route) {
    const sip::IncomingCall& in = leg.info();
    sip::DigestAuth::Verdict v = auth.check(in);
    switch (v.outcome) {
      case sip::DigestAuth::Outcome::accepted:
        spdlog::debug("INVITE {} from {}: route {} authenticated user '{}'", in.sip_call_id,
                      in.source_ip, route.name, v.username);
        return true;
      case sip::DigestAuth::Outcome::challenge:
        if (v.failures > 0)
          spdlog::warn("INVITE {} from {}: route {} digest authentication failed for user '{}' "
                       "({}, attempt {}): challenged again",
                       in.sip_call_id, in.source_ip, route.name, v.username, v.reason, v.failures);
        leg.challenge(std::move(v.proxy_authenticate));
        metrics_.inc("swmld_calls_rejected_total", "reason=\"auth_challenge\"");
        return false;
      case sip::DigestAuth::Outcome::forbidden:
        spdlog::warn("INVITE {} from {}: route {} digest authentication failed for user '{}' "
                     "({}, attempt {}): 403",
                     in.sip_call_id, in.source_ip, route.name, v.username, v.reason, v.failures);
        leg.reject(403);
        metrics_.inc("swmld_calls_rejected_total", "reason=\"auth\"");
        return false;
    }
    return false;
  }

  void describe_metrics() {
    metrics_.describe("swmld_calls_total", "counter", "Calls admitted and routed.");
    metrics_.describe("swmld_calls_active", "gauge", "Calls in progress.");
    metrics_.describe(
        "swmld_sip_dialogs_active", "gauge",
        "SIP calls the stack holds, ended ones included until their last transaction is over.");
    metrics_.describe("swmld_calls_ended_total", "counter", "Calls ended, by end reason.");
    metrics_.describe("swmld_calls_rejected_total", "counter", "INVITEs rejected at admission.");
    metrics_.describe("swmld_outbound_legs_total", "counter",
                      "Outbound legs (connect) dialled or refused, by result.");
    metrics_.describe("swmld_steps_total", "counter", "SWML steps run, by method and outcome.");
    metrics_.describe("swmld_script_warnings_total", "counter",
                      "Runtime errors a document went on after (SignalWire's script warnings), by code.");
    metrics_.describe("swmld_refer_results_total", "counter", "sip_refer results.");
    metrics_.describe("swmld_connect_results_total", "counter",
                      "connect results (connected, failed), by connect_failed_reason.");
    metrics_.describe("swmld_callbacks_total", "counter", "Status callbacks, by outcome.");
    metrics_.describe("swmld_callbacks_pending", "gauge", "Status callbacks not yet delivered.");
    metrics_.describe("swmld_draining", "gauge", "1 after SIGTERM.");
    metrics_.describe("swmld_log_lines_dropped_total", "counter",
                      "Log lines dropped because stderr could not keep up.");
    metrics_.describe("swmld_rtp_streams_active", "gauge", "RTP streams open.");
    metrics_.describe("swmld_rtp_ports_free", "gauge", "RTP ports of rtp.port_min-port_max free.");
    metrics_.describe("swmld_rtp_packets_sent_total", "counter", "RTP packets sent.");
    metrics_.describe("swmld_rtp_packets_received_total", "counter", "RTP packets received.");
    metrics_.describe(
        "swmld_rtp_dropped_total", "counter",
        "Datagrams received on RTP ports and dropped, by reason (not_rtp, payload_type, keys).");
    for (const char* r : {"not_rtp", "payload_type", "keys"})
      metrics_.series("swmld_rtp_dropped_total", fmt::format("reason=\"{}\"", r));
    metrics_.describe("swmld_rtp_relayed_total", "counter",
                      "RTP packets sent by a bridged leg as relayed from the other leg.");
    metrics_.describe("swmld_rtp_relay_dropped_total", "counter",
                      "Relayed RTP packets dropped, by reason (late, overflow).");
    for (const char* r : {"late", "overflow"})
      metrics_.series("swmld_rtp_relay_dropped_total", fmt::format("reason=\"{}\"", r));
    metrics_.describe("swmld_rtp_late_ticks_total", "counter",
                      "Media ticks that started more than 5 ms late.");
    metrics_.describe("swmld_recordings_active", "gauge",
                      "Recordings running or being finished (file closed, uploaded).");
    metrics_.describe("swmld_audio_cache_bytes", "gauge", "Decoded audio held in the cache.");
    metrics_.describe("swmld_audio_cache_total", "counter", "Audio cache lookups, by result.");
    metrics_.describe("swmld_audio_load_failures_total", "counter",
                      "Sounds that could not be loaded (fetch, decode, TTS).");
    metrics_.describe("swmld_config_reloads_total", "counter",
                      "Configuration reloads (SIGHUP), by result (ok, failed).");
    metrics_.describe("swmld_config_last_reload_success_timestamp_seconds", "gauge",
                      "Unix time of the last configuration load that took effect (start-up or reload).");
    metrics_.describe("swmld_sip_tcp_closed_total", "counter",
                      "SIP TCP connections swmld's guard closed, by reason (over_limit, silent, trickle, unread).");
    for (const char* r : {"over_limit", "silent", "trickle", "unread"})
      metrics_.series("swmld_sip_tcp_closed_total", fmt::format("reason=\"{}\"", r));
    metrics_.series("swmld_config_reloads_total", "result=\"ok\"");
    metrics_.series("swmld_config_reloads_total", "result=\"failed\"");
  }

  // Runs on an engine thread at each scrape: gauges and the poster's counters are read now.
  std::string render_metrics() {
    metrics_.series("swmld_calls_active") = active_.load();
    metrics_.series("swmld_draining") = draining_.load() ? 1 : 0;
    metrics_.series("swmld_log_lines_dropped_total") = static_cast<std::int64_t>(log::dropped_lines());
    if (stack_) {
      metrics_.series("swmld_sip_dialogs_active") =
          static_cast<std::int64_t>(stack_->active_legs());
      auto t = stack_->tcp_guard_stats();
      auto n = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
      metrics_.series("swmld_sip_tcp_closed_total", "reason=\"over_limit\"") = n(t.over_limit);
      metrics_.series("swmld_sip_tcp_closed_total", "reason=\"silent\"") = n(t.silent);
      metrics_.series("swmld_sip_tcp_closed_total", "reason=\"trickle\"") = n(t.trickle);
      metrics_.series("swmld_sip_tcp_closed_total", "reason=\"unread\"") = n(t.unread);
    }
    if (poster_) {
      auto st = poster_->stats();
      metrics_.series("swmld_callbacks_total", "outcome=\"delivered\"") = static_cast<std::int64_t>(st.delivered);
      metrics_.series("swmld_callbacks_total", "outcome=\"failed\"") = static_cast<std::int64_t>(st.failed);
      metrics_.series("swmld_callbacks_total", "outcome=\"dropped\"") = static_cast<std::int64_t>(st.dropped);
      metrics_.series("swmld_callbacks_total", "outcome=\"retried\"") = static_cast<std::int64_t>(st.retries);
      metrics_.series("swmld_callbacks_pending") = static_cast<std::int64_t>(st.pending);
    }
    if (media_) {
      auto m = media_->stats();
      auto n = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
      metrics_.series("swmld_rtp_streams_active") = n(m.streams_active);
      metrics_.series("swmld_rtp_ports_free") = n(m.ports_free);
      metrics_.series("swmld_rtp_packets_sent_total") = n(m.packets_sent);
      metrics_.series("swmld_rtp_packets_received_total") = n(m.packets_received);
      metrics_.series("swmld_rtp_dropped_total", "reason=\"not_rtp\"") = n(m.dropped_not_rtp);
      metrics_.series("swmld_rtp_dropped_total", "reason=\"payload_type\"") =
          n(m.dropped_payload_type);
      metrics_.series("swmld_rtp_dropped_total", "reason=\"keys\"") = n(m.dropped_keys);
      metrics_.series("swmld_rtp_late_ticks_total") = n(m.late_ticks);
      metrics_.series("swmld_rtp_relayed_total") = n(m.packets_relayed);
      metrics_.series("swmld_rtp_relay_dropped_total", "reason=\"late\"") =
          n(m.relay_dropped_late);
      metrics_.series("swmld_rtp_relay_dropped_total", "reason=\"overflow\"") =
          n(m.relay_dropped_overflow);
      metrics_.series("swmld_rtp_bridges_across_threads_total") = n(m.bridges_across_threads);
      metrics_.series("swmld_recordings_active") = n(m.recordings_active);
      metrics_.series("swmld_audio_cache_bytes") = n(m.cache_bytes);
      metrics_.series("swmld_audio_cache_total", "result=\"hit\"") = n(m.cache_hits);
      metrics_.series("swmld_audio_cache_total", "result=\"miss\"") = n(m.cache_misses);
      metrics_.series("swmld_audio_load_failures_total") = n(m.load_failures);
    }
    return metrics_.render();
  }

  // A token bucket of max_cps tokens per second, one second deep. SIP thread only.
  bool take_cps_token(double max_cps) {
    auto now = std::chrono::steady_clock::now();
    double elapsed = std::chrono::duration<double>(now - cps_last_).count();
    cps_last_ = now;
    cps_tokens_ = std::min(max_cps, cps_tokens_ + elapsed * max_cps);
    if (cps_tokens_ < 1.0) return false;
    cps_tokens_ -= 1.0;
    return true;
  }

  Config config_;        // the configuration in force; main thread (start, reload, drain)
  ConfigSource source_;  // reads it again at SIGHUP
  Metrics metrics_;  // declared first: the engine and the endpoint refer to it
  // What new calls take; SIP thread only once the stack runs (see swap_snapshot()).
  std::shared_ptr<const Snapshot> snapshot_;
  SdNotifier notifier_ = SdNotifier::from_environment();
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  std::vector<std::thread> engine_threads_;
  // The expression worker: JavaScript of calls whose expressions are not cheap
  // (engine::EngineConfig::run_expressions_elsewhere), off the SIP and engine threads.
  boost::asio::io_context expr_io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> expr_work_{
      expr_io_.get_executor()};
  std::thread expr_thread_;
  std::mutex expr_mu_;
  bool expr_open_ = true;  // under expr_mu_: jobs go to the worker; false once stop() began
  std::function<boost::asio::any_io_executor()> new_call_executor_;  // set once in start()
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<http::EventPoster> poster_;
  std::shared_ptr<HttpDocumentFetcher> fetcher_;  // refers to *http_: reset http_ first
  std::shared_ptr<engine::HttpClient> engine_http_;
  std::shared_ptr<CallbackPoster> callbacks_;
  std::unique_ptr<media::Service> media_;  // its audio fetches go through *http_
  std::shared_ptr<std::atomic<int>> uploads_ = std::make_shared<std::atomic<int>>(0);
  std::unique_ptr<sip::Stack> stack_;
  std::shared_ptr<OutboundGuard> outbound_guard_;  // dials through *stack_
  std::atomic<int> active_{0};
  std::atomic<bool> draining_{false};
  std::atomic<bool> ready_{false};  // the SIP stack listens with its configuration loaded
  std::shared_ptr<MetricsServer> metrics_server_;
  double cps_tokens_ = 0;
  std::chrono::steady_clock::time_point cps_last_ = std::chrono::steady_clock::now();
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

Result<std::unique_ptr<Server>> Server::start(Config config, ConfigSource source) {
  auto impl = std::make_unique<Impl>(std::move(config), std::move(source));
  auto s = impl->start();
  if (!s) return s.error();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

int Server::run_until_signal() { return impl_->run_until_signal(); }

void Server::block_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace swmld::app
