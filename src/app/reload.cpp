// The reload plan (see reload.hpp): one table of the keys a reload applies, one of those it
// cannot, each with how to read the value to compare. A key added to Config belongs in one
// of the two tables (config_docs_test.cpp fails on a key of config_keys() in neither).
#include "reload.hpp"

#include <functional>
#include <sstream>

namespace swmld::app {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& i : v) s += i + '\n';
  return s;
}

template <typename T>
std::string text(const T& v) {
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}

std::string route_text(const Route& r) {
  std::ostringstream out;
  out << r.name << '\n'
      << r.swml << '\n'
      << r.fallback << '\n'
      << r.params.dump() << '\n'
      << (r.match.user ? "=" + *r.match.user : "-") << '\n'
      << (r.match.user_regex ? "~" + r.match.user_regex_text : "-") << '\n'
      << (r.match.to_user ? "=" + *r.match.to_user : "-") << '\n'
      << (r.match.to_user_regex ? "~" + r.match.to_user_regex_text : "-") << '\n'
      << join(r.match.source) << '\n'
      << r.auth.realm << '\n';
  for (const auto& u : r.auth.users) out << u.username << '\n' << u.password << '\n';
  out << '\0';
  return out.str();
}

std::string rules_text(const std::optional<std::vector<std::string>>& rules) {
  return rules ? "=" + join(*rules) : "-";
}

struct Key {
  const char* name;
  std::function<std::string(const Config&)> value;           // compared, never logged (secrets)
  std::function<void(Config& to, const Config& from)> take;  // reloadable keys only
};

// clang-format off
#define KEY(name, field) Key{name, [](const Config& c) { return text(c.field); }, \
                             [](Config& to, const Config& from) { to.field = from.field; }}
#define LIST(name, field) Key{name, [](const Config& c) { return join(c.field); }, \
                              [](Config& to, const Config& from) { to.field = from.field; }}
#define FIXED(name, expr) Key{name, [](const Config& c) { return text(expr); }, nullptr}
#define FIXED_LIST(name, expr) Key{name, [](const Config& c) { return join(expr); }, nullptr}
// clang-format on

const std::vector<Key>& reloadable() {
  static const std::vector<Key> keys{
      Key{"routes",
          [](const Config& c) {
            std::string s;
            for (const auto& r : c.routes) s += route_text(r);
            return s;
          },
          [](Config& to, const Config& from) { to.routes = from.routes; }},
      KEY("limits.max_calls", max_calls),
      KEY("limits.max_cps", max_cps),
      KEY("limits.max_steps", max_steps),
      KEY("limits.expression_time_per_call", expression_time_per_call),
      KEY("limits.requests_per_call", requests_per_call),
      LIST("limits.allow_sources", allow_sources),
      KEY("logging.level", log_level),
      Key{"envs", [](const Config& c) { return c.envs.dump(); },
          [](Config& to, const Config& from) { to.envs = from.envs; }},
      KEY("refer.notify_timeout", refer_notify_timeout),
      KEY("refer.referred_by", referred_by),
      KEY("recording.dir", recording_dir),
      KEY("recording.url", recording_url),
      KEY("recording.upload.url", recording_upload_url),
      KEY("recording.upload.method", recording_upload_method),
      KEY("recording.upload.bearer_token", recording_upload_bearer_token),
      KEY("recording.upload.retries", recording_upload_retries),
      KEY("recording.upload.keep_local", recording_upload_keep_local),
      KEY("sip.ring", sip_ring),
      KEY("http.fetch_failure_code", http_fetch_failure_code),
      KEY("shutdown.drain_timeout", drain_timeout),
      KEY("shutdown.drain_min", drain_min),
      // Each call takes the outbound policy of its snapshot; the legs/s bucket keeps its tokens.
      KEY("outbound.gateway.uri", outbound.gateway_uri),
      KEY("outbound.gateway.username", outbound.gateway_username),
      KEY("outbound.gateway.password", outbound.gateway_password),
      KEY("outbound.gateway.from", outbound.gateway_from),
      Key{"outbound.allow", [](const Config& c) { return rules_text(c.outbound.allow); },
          [](Config& to, const Config& from) { to.outbound.allow = from.outbound.allow; }},
      Key{"outbound.deny", [](const Config& c) { return rules_text(c.outbound.deny); },
          [](Config& to, const Config& from) { to.outbound.deny = from.outbound.deny; }},
      KEY("outbound.country", outbound.country),
      KEY("outbound.max_legs_per_call", outbound.max_legs_per_call),
      KEY("outbound.max_legs_per_second", outbound.max_legs_per_second),
  };
  return keys;
}

// Read once at start-up: the listeners, thread pools, port pool, HTTP client and callback
// poster are built from them.
const std::vector<Key>& restart_only() {
  static const std::vector<Key> keys{
      FIXED_LIST("sip.listen", c.sip_listen),
      FIXED("sip.public_address", c.sip_public_address),
      FIXED("sip.user_agent", c.sip_user_agent),
      FIXED("sip.tcp_idle_timeout", c.sip_tcp_idle_timeout_s),
      FIXED("sip.message_timeout", c.sip_message_timeout_s),
      FIXED("sip.transaction_timeout", c.sip_transaction_timeout_s),
      FIXED("sip.max_message_bytes", c.sip_max_message_bytes),
      FIXED("sip.tls.cert_file", c.sip_tls_cert_file),
      FIXED("sip.tls.key_file", c.sip_tls_key_file),
      FIXED("sip.tls.ca_file", c.sip_tls_ca_file),
      FIXED("sip.tls.verify_peer", c.sip_tls_verify_peer),
      FIXED("sip.tcp_max_connections_per_source", c.sip_tcp_max_connections_per_source),
      FIXED("rtp.port_min", c.media.rtp_ports.first),
      FIXED("rtp.port_max", c.media.rtp_ports.second),
      FIXED_LIST("rtp.codecs", c.media.codecs),
      FIXED("rtp.ptime", c.media.ptime_ms),
      FIXED("rtp.threads", c.media.threads),
      FIXED("rtp.latch", c.media.latch),
      FIXED("rtp.rtcp", c.media.rtcp),
      FIXED("rtp.idle_silence", c.media.idle_silence),
      FIXED("rtp.public_address", c.media.public_address),
      FIXED("media.root", c.media.media_root),
      FIXED("media.cache_mb", c.media.cache_bytes),
      FIXED("media.max_file_mb", c.media.max_file_bytes),
      FIXED("media.max_seconds", c.media.max_sound_seconds),
      FIXED("media.workers", c.media.workers),
      FIXED("media.dtmf_duration_ms", c.media.dtmf_duration_ms),
      FIXED("media.dtmf_gap_ms", c.media.dtmf_gap_ms),
      FIXED("media.dtmf_volume", c.media.dtmf_volume),
      FIXED("http.timeout", c.http_timeout),
      FIXED("http.connect_timeout", c.http_connect_timeout),
      FIXED("http.retries", c.http_retries),
      FIXED("http.user_agent", c.http_user_agent),
      FIXED("http.verify_tls", c.http_verify_tls),
      FIXED("http.ca_file", c.http_ca_file),
      FIXED("http.signing_secret", c.http_signing_secret),
      FIXED("http.signature_header", c.http_signature_header),
      FIXED_LIST("http.allowed_hosts", c.http_allowed_hosts),
      FIXED("http.block_private", c.http_block_private),
      FIXED("callbacks.project_id", c.project_id),
      FIXED("callbacks.space_id", c.space_id),
      FIXED("callbacks.node_id", c.node_id),
      FIXED("callbacks.retries", c.callback_retries),
      FIXED("callbacks.queue", c.callback_queue),
      FIXED("logging.format", c.log_format),
      FIXED("metrics.listen", c.metrics_listen),
      FIXED("engine.mode", c.engine_mode),
      FIXED("engine.threads", c.engine_threads),
  };
  return keys;
}

}  // namespace

ReloadPlan plan_reload(const Config& running, const Config& loaded) {
  ReloadPlan plan{running, {}, {}};
  plan.config.source = loaded.source;
  for (const auto& key : reloadable()) {
    if (key.value(running) == key.value(loaded)) continue;
    plan.changed.emplace_back(key.name);
    key.take(plan.config, loaded);
  }
  // A changed route document is read again even when the routes are written the same: the
  // server rebuilds the route table at every reload.
  for (const auto& key : restart_only())
    if (key.value(running) != key.value(loaded)) plan.needs_restart.emplace_back(key.name);
  return plan;
}

const std::vector<std::string>& reloadable_keys() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& key : reloadable()) v.emplace_back(key.name);
    return v;
  }();
  return names;
}

const std::vector<std::string>& restart_only_keys() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& key : restart_only()) v.emplace_back(key.name);
    return v;
  }();
  return names;
}

}  // namespace swmld::app
