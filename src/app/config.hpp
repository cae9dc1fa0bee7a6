// swmld's configuration (design.md §7): the YAML file, SWMLD_* environment overrides and
// command-line overrides, in rising precedence. Validation names the offending key.
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "swmld/core/error.hpp"
#include "swmld/core/value.hpp"
#include "swmld/media/service.hpp"

namespace swmld::app {

// A match on the INVITE: every condition given must hold; no condition matches everything.
struct RouteMatch {
  std::optional<std::string> user;        // Request-URI user, exact
  std::optional<std::regex> user_regex;   // Request-URI user, regex (whole match)
  std::optional<std::string> to_user;     // To user, exact
  std::optional<std::regex> to_user_regex;
  std::vector<std::string> source;        // source IPs or CIDR networks
  std::string user_regex_text, to_user_regex_text;  // the regexes as written (to compare)
};

// routes[].auth: callers must answer a 407 digest challenge with one of these users.
struct RouteAuthUser {
  std::string username;
  std::string password;      // never logged; from password_env when that is given
  std::string password_env;  // environment variable holding the password (read at load)
};
struct RouteAuth {
  std::string realm;         // empty: no authentication on this route
  std::vector<RouteAuthUser> users;
  bool required() const { return !realm.empty(); }
};

struct Route {
  std::string name;        // for logs: "routes[0]" unless given
  RouteMatch match;
  std::string swml;        // file path or http(s) URL
  std::string fallback;    // URL tried when `swml` (a URL) cannot be fetched
  Value params = Value::object();
  RouteAuth auth;          // routes[].auth: digest authentication of the caller
};

// outbound: where connect's legs may go and how fast (docs/configuration.md, "Toll fraud"
// in docs/operations.md). Checked by OutboundPolicy (outbound_policy.hpp).
struct OutboundConfig {
  std::string gateway_uri;       // sip:/sips: URI phone numbers are sent through; empty: none
  std::string gateway_username;  // digest credentials for the gateway's challenges
  std::string gateway_password;  // never logged
  std::string gateway_from;      // caller number (or URI) of calls through the gateway
  // Rules: E.164 prefixes ("+44") and SIP domains ("pbx.example.com", "*.example.com").
  // Not given (nullopt): the default of each list (outbound_policy.hpp); given, even empty:
  // exactly these.
  std::optional<std::vector<std::string>> allow, deny;
  std::string country;           // "+1": the national numbers the default policy allows
  int max_legs_per_call = 10;
  double max_legs_per_second = 20;  // node-wide token bucket
};

struct Config {
  std::string source;      // the config file read, if any

  // sip
  std::vector<std::string> sip_listen{"udp:127.0.0.1:5060", "tcp:127.0.0.1:5060"};
  std::string sip_public_address;
  std::string sip_user_agent = "swmld/0.1";
  bool sip_ring = true;    // 180 Ringing when a document starts
  double sip_tcp_idle_timeout_s = 600;  // a TCP connection with no message for this long is closed
  double sip_message_timeout_s = 32;    // a message still incomplete after this closes its connection
  // 64 x T1 (RFC 3261 Timers B, F, H, J): no ACK for our 200, no answer to our BYE or REFER,
  // how long answered transactions are kept.
  double sip_transaction_timeout_s = 32;
  std::size_t sip_max_message_bytes = 64 * 1024;  // larger messages are refused
  // sip.tls: for tls: listen addresses (PEM files; key empty: in the cert file)
  std::string sip_tls_cert_file, sip_tls_key_file, sip_tls_ca_file;
  bool sip_tls_verify_peer = false;  // require client certificates chaining to ca_file
  int sip_tcp_max_connections_per_source = 64;  // newer ones are closed; 0: no limit

  // rtp and media: RTP ports, codecs and threads; audio files, cache, TTS workers, DTMF
  media::MediaConfig media;

  std::vector<Route> routes;

  OutboundConfig outbound;

  // http
  double http_timeout = 10;
  double http_connect_timeout = 3;
  int http_retries = 2;             // document fetches (idempotent POST by contract)
  std::string http_user_agent = "swmld/0.1";
  bool http_verify_tls = true;
  std::string http_ca_file;
  std::string http_signing_secret;  // signs fetches and callbacks (never logged)
  std::string http_signature_header;  // extra header: HMAC-SHA256 of the body alone
  std::vector<std::string> http_allowed_hosts;
  bool http_block_private = false;  // refuse loopback/private/link-local destinations
  int http_fetch_failure_code = 503;  // SIP code when the document cannot be fetched

  // callbacks
  std::string project_id;
  std::string space_id;
  std::string node_id;              // default: the host name
  int callback_retries = 3;
  std::size_t callback_queue = 10000;

  // limits
  int max_calls = 1000;
  double max_cps = 500;
  int max_steps = 10000;
  double expression_time_per_call = 1.0;  // seconds of ${…} JavaScript per call; 0: no limit
  int requests_per_call = 10;             // `request` steps per call (swml-reference: 10)
  std::vector<std::string> allow_sources;  // IPs/CIDRs allowed to send INVITEs; empty: all

  // refer
  double refer_notify_timeout = 15;
  std::string referred_by;

  // recording: where record/record_call files go, and the record_url template
  std::string recording_dir = "/var/lib/swmld/recordings";
  std::string recording_url;
  std::string recording_upload_url;  // empty: recordings stay local
  std::string recording_upload_method = "PUT";
  std::string recording_upload_bearer_token;  // never logged
  int recording_upload_retries = 4;
  bool recording_upload_keep_local = false;

  // logging
  std::string log_level = "info";
  std::string log_format = "text";

  // metrics
  std::string metrics_listen;       // "127.0.0.1:9090"; empty: off

  double drain_timeout = 30;        // SIGTERM: seconds to let calls finish
  // SIGTERM: answer 503 for at least this long even once no call is left, so that a load
  // balancer probing with OPTIONS (Kamailio's dispatcher) sees the node drain before it is
  // gone (docs/scaling.md). At most drain_timeout.
  double drain_min = 0;
  // Where the interpreter runs: "sip_thread" (on the SIP thread, no hand-off between threads
  // per event) or "threads" (an io_context run by engine.threads threads). docs/architecture.md.
  std::string engine_mode = "sip_thread";
  int engine_threads = 0;           // engine.mode threads: 0 = the number of cores
  Value envs = Value::object();     // the `envs` scope of every call
};

// Every key a configuration file may hold, dotted ("sip.listen", "routes[].match.user",
// "envs"): what the parser accepts, for documentation checks and messages.
const std::vector<std::string>& config_keys();

// The SWMLD_* environment variables and the key each sets ("SWMLD_SIP_LISTEN",
// "sip.listen"); SWMLD_SWML sets "swml", a catch-all route tried first (as --swml).
const std::vector<std::pair<std::string, std::string>>& config_env_vars();

// Parses the YAML text of a configuration file (`source` names it in errors); no environment.
Result<Config> parse_config(const std::string& text, const std::string& source);

// Reads `path` (empty: defaults only), then applies SWMLD_* environment variables
// (SWMLD_SIP_LISTEN, SWMLD_LOG_LEVEL, SWMLD_LOG_FORMAT, SWMLD_SWML, SWMLD_MAX_CALLS, ...).
Result<Config> load_config(const std::string& path);

// Applies `value` to a dotted key ("sip.listen", "logging.format", ...), as the CLI does.
Status apply_override(Config& config, const std::string& key, const std::string& value);

// Checks ranges and combinations; the error names the key.
Status validate(const Config& config);

}  // namespace swmld::app
