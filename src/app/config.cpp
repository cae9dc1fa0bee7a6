// Reading and validating swmld.yaml. Unknown keys are errors (a typo must not be silently
// ignored); every error names the key path and, for file values, line and column.
#include "config.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "outbound_policy.hpp"
#include "swmld/core/url.hpp"
#include "swmld/core/utf8.hpp"

namespace swmld::app {
namespace {

Error config_error(const std::string& key, const std::string& msg, const YAML::Node* node = nullptr,
                   const std::string& file = {}) {
  SourcePos pos;
  pos.file = file;
  if (node && node->Mark().line >= 0) {
    pos.line = node->Mark().line + 1;
    pos.column = node->Mark().column + 1;
  }
  return Error{ErrorCode::element_invalid_value, "config key '" + key + "': " + msg, pos};
}

// Every key a configuration file may hold, dotted; "routes[]." starts the keys of each route.
// The parser accepts these and no other. routes[].params and envs hold mappings of the user's
// own. docs/configuration.md has one row per key: tests/unit/app/config_docs_test.cpp fails
// on a key added here without its row (and a row without its key).
// clang-format off
constexpr std::string_view kKeys[] = {
    "sip.listen", "sip.public_address", "sip.user_agent", "sip.ring", "sip.tcp_idle_timeout",
    "sip.message_timeout", "sip.transaction_timeout", "sip.max_message_bytes",
    "sip.tcp_max_connections_per_source",
    "sip.tls.cert_file", "sip.tls.key_file", "sip.tls.ca_file", "sip.tls.verify_peer",
    "rtp.port_min", "rtp.port_max", "rtp.codecs", "rtp.ptime", "rtp.threads", "rtp.latch",
    "rtp.rtcp", "rtp.idle_silence", "rtp.public_address",
    "media.root", "media.cache_mb", "media.max_file_mb", "media.max_seconds", "media.workers",
    "media.dtmf_duration_ms", "media.dtmf_gap_ms", "media.dtmf_volume",
    "routes[].name", "routes[].match.user", "routes[].match.user_regex",
    "routes[].match.to_user", "routes[].match.to_user_regex", "routes[].match.source",
    "routes[].swml", "routes[].fallback", "routes[].params",
    "routes[].auth.realm", "routes[].auth.users",
    "outbound.gateway.uri", "outbound.gateway.username", "outbound.gateway.password",
    "outbound.gateway.from", "outbound.allow", "outbound.deny", "outbound.country",
    "outbound.max_legs_per_call", "outbound.max_legs_per_second",
    "http.timeout", "http.connect_timeout", "http.retries", "http.user_agent", "http.verify_tls",
    "http.ca_file", "http.signing_secret", "http.signature_header", "http.allowed_hosts",
    "http.block_private", "http.fetch_failure_code",
    "callbacks.project_id", "callbacks.space_id", "callbacks.node_id", "callbacks.retries",
    "callbacks.queue",
    "limits.max_calls", "limits.max_cps", "limits.max_steps", "limits.allow_sources",
    "limits.expression_time_per_call", "limits.requests_per_call",
    "refer.notify_timeout", "refer.referred_by",
    "recording.dir", "recording.url", "recording.upload.url", "recording.upload.method",
    "recording.upload.bearer_token", "recording.upload.retries", "recording.upload.keep_local",
    "logging.level", "logging.format",
    "metrics.listen",
    "shutdown.drain_timeout",
    "shutdown.drain_min",
    "engine.mode", "engine.threads",
    "envs",
};
// clang-format on

// `name` is a key of kKeys or a section holding some ("sip", "routes", "routes[].match").
bool is_key_or_section(std::string_view name) {
  for (std::string_view key : kKeys) {
    if (key.size() < name.size() || key.substr(0, name.size()) != name) continue;
    std::string_view rest = key.substr(name.size());
    if (rest.empty() || rest.front() == '.' || rest.substr(0, 3) == "[].") return true;
  }
  return false;
}

struct Reader {
  std::string file;

  template <typename T>
  Status read(const YAML::Node& parent, const char* name, const std::string& path, T& out) {
    YAML::Node n = parent[name];
    if (!n || n.IsNull()) return Ok{};
    try {
      out = n.as<T>();
    } catch (const YAML::Exception&) {
      return config_error(path + "." + name, "has the wrong type", &n, file);
    }
    return Ok{};
  }

  Status read_list(const YAML::Node& parent, const char* name, const std::string& path,
                   std::vector<std::string>& out) {
    YAML::Node n = parent[name];
    if (!n || n.IsNull()) return Ok{};
    if (n.IsScalar()) {
      out = {n.as<std::string>()};
      return Ok{};
    }
    if (!n.IsSequence()) return config_error(path + "." + name, "must be a list", &n, file);
    out.clear();
    for (const auto& item : n) {
      if (!item.IsScalar())
        return config_error(path + "." + name, "must be a list of strings", &item, file);
      out.push_back(item.as<std::string>());
    }
    return Ok{};
  }

  // Each key of the mapping `n` must be one of kKeys under `table` ("sip", "routes[]";
  // empty: the top level). Errors name it under `where` when given ("routes[2]").
  Status known_keys(const YAML::Node& n, std::string_view table, const std::string& where = {}) {
    const std::string path = where.empty() ? std::string(table) : where;
    if (!n) return Ok{};
    if (!n.IsMap()) return config_error(path, "must be a mapping", &n, file);
    for (const auto& kv : n) {
      std::string k = kv.first.as<std::string>();
      // A key written dotted ("sip.listen") or bracketed is no key of the file.
      const bool plain = k.find_first_of(".[]") == std::string::npos;
      if (!plain || !is_key_or_section(table.empty() ? k : std::string(table) + "." + k))
        return config_error(path.empty() ? k : path + "." + k, "unknown key", &kv.first, file);
    }
    return Ok{};
  }
};

// A YAML mapping as a Value (route params, envs): they travel in JSON (document fetches,
// expressions), so their text must be UTF-8; `path` names the key in errors.
Result<Value> to_value(const YAML::Node& n, const std::string& path, const std::string& file) {
  if (!n || n.IsNull()) return Value(nullptr);
  if (n.IsScalar()) {
    if (!valid_utf8(n.Scalar())) return config_error(path, "is not valid UTF-8", &n, file);
    return Value(n.Scalar());
  }
  if (n.IsSequence()) {
    Value a = Value::array();
    std::size_t i = 0;
    for (const auto& item : n) {
      auto v = to_value(item, path + "[" + std::to_string(i++) + "]", file);
      if (!v) return v.error();
      a.push_back(std::move(*v));
    }
    return a;
  }
  Value o = Value::object();
  for (const auto& kv : n) {
    std::string key = kv.first.as<std::string>();
    if (!valid_utf8(key)) return config_error(path, "has a key that is not valid UTF-8", &kv.first, file);
    auto v = to_value(kv.second, path + "." + key, file);
    if (!v) return v.error();
    o[key] = std::move(*v);
  }
  return o;
}

Result<std::regex> make_regex(const std::string& key, const std::string& re, const YAML::Node& n,
                              const std::string& file) {
  try {
    return std::regex(re, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return config_error(key, std::string("invalid regex: ") + e.what(), &n, file);
  }
}

#define TRY(expr)                         \
  do {                                    \
    auto _s = (expr);                     \
    if (!_s) return _s.error();           \
  } while (0)

Result<Config> parse(const YAML::Node& root, const std::string& file) {
  Config c;
  c.source = file;
  Reader r{file};
  if (!root || root.IsNull()) return c;
  TRY(r.known_keys(root, ""));
  if (auto s = root["sip"]) {
    TRY(r.known_keys(s, "sip"));
    TRY(r.read_list(s, "listen", "sip", c.sip_listen));
    TRY(r.read(s, "public_address", "sip", c.sip_public_address));
    TRY(r.read(s, "user_agent", "sip", c.sip_user_agent));
    TRY(r.read(s, "ring", "sip", c.sip_ring));
    TRY(r.read(s, "tcp_idle_timeout", "sip", c.sip_tcp_idle_timeout_s));
    TRY(r.read(s, "message_timeout", "sip", c.sip_message_timeout_s));
    TRY(r.read(s, "transaction_timeout", "sip", c.sip_transaction_timeout_s));
    TRY(r.read(s, "max_message_bytes", "sip", c.sip_max_message_bytes));
    if (auto t = s["tls"]) {
      TRY(r.known_keys(t, "sip.tls"));
      TRY(r.read(t, "cert_file", "sip.tls", c.sip_tls_cert_file));
      TRY(r.read(t, "key_file", "sip.tls", c.sip_tls_key_file));
      TRY(r.read(t, "ca_file", "sip.tls", c.sip_tls_ca_file));
      TRY(r.read(t, "verify_peer", "sip.tls", c.sip_tls_verify_peer));
    }
    TRY(r.read(s, "tcp_max_connections_per_source", "sip", c.sip_tcp_max_connections_per_source));
  }
  if (auto s = root["rtp"]) {
    media::MediaConfig& m = c.media;
    TRY(r.known_keys(s, "rtp"));
    TRY(r.read(s, "port_min", "rtp", m.rtp_ports.first));
    TRY(r.read(s, "port_max", "rtp", m.rtp_ports.second));
    TRY(r.read_list(s, "codecs", "rtp", m.codecs));
    TRY(r.read(s, "ptime", "rtp", m.ptime_ms));
    TRY(r.read(s, "threads", "rtp", m.threads));
    TRY(r.read(s, "latch", "rtp", m.latch));
    TRY(r.read(s, "rtcp", "rtp", m.rtcp));
    TRY(r.read(s, "idle_silence", "rtp", m.idle_silence));
    TRY(r.read(s, "public_address", "rtp", m.public_address));
  }
  if (auto s = root["media"]) {
    media::MediaConfig& m = c.media;
    TRY(r.known_keys(s, "media"));
    TRY(r.read(s, "root", "media", m.media_root));
    double cache_mb = static_cast<double>(m.cache_bytes >> 20);
    double file_mb = static_cast<double>(m.max_file_bytes >> 20);
    TRY(r.read(s, "cache_mb", "media", cache_mb));
    TRY(r.read(s, "max_file_mb", "media", file_mb));
    if (cache_mb < 1 || cache_mb > 65536)
      return config_error("media.cache_mb", "must be 1 to 65536", &s, file);
    if (file_mb <= 0 || file_mb > 1024)
      return config_error("media.max_file_mb", "must be above 0 and at most 1024", &s, file);
    m.cache_bytes = static_cast<std::size_t>(cache_mb * (1 << 20));
    m.max_file_bytes = static_cast<std::size_t>(file_mb * (1 << 20));
    TRY(r.read(s, "max_seconds", "media", m.max_sound_seconds));
    TRY(r.read(s, "workers", "media", m.workers));
    TRY(r.read(s, "dtmf_duration_ms", "media", m.dtmf_duration_ms));
    TRY(r.read(s, "dtmf_gap_ms", "media", m.dtmf_gap_ms));
    TRY(r.read(s, "dtmf_volume", "media", m.dtmf_volume));
  }
  if (auto routes = root["routes"]) {
    if (!routes.IsSequence()) return config_error("routes", "must be a list", &routes, file);
    for (std::size_t i = 0; i < routes.size(); ++i) {
      const YAML::Node& n = routes[i];
      std::string path = "routes[" + std::to_string(i) + "]";
      TRY(r.known_keys(n, "routes[]", path));
      Route route;
      route.name = path;
      TRY(r.read(n, "name", path, route.name));
      TRY(r.read(n, "swml", path, route.swml));
      TRY(r.read(n, "fallback", path, route.fallback));
      if (!route.fallback.empty() && !is_http_url(route.fallback))
        return config_error(path + ".fallback", "must be an http(s) URL", &n, file);
      if (route.swml.empty())
        return config_error(path + ".swml", "is required (a file path or http(s) URL)", &n, file);
      if (auto p = n["params"]) {
        if (!p.IsMap()) return config_error(path + ".params", "must be a mapping", &p, file);
        auto params = to_value(p, path + ".params", file);
        if (!params) return params.error();
        route.params = std::move(*params);
      }
      if (auto m = n["match"]) {
        std::string mp = path + ".match";
        TRY(r.known_keys(m, "routes[].match", mp));
        // Each read as text first, so a value of the wrong type is named like any other.
        std::string user, to_user, user_regex, to_user_regex;
        TRY(r.read(m, "user", mp, user));
        TRY(r.read(m, "to_user", mp, to_user));
        TRY(r.read(m, "user_regex", mp, user_regex));
        TRY(r.read(m, "to_user_regex", mp, to_user_regex));
        auto given = [&m](const char* key) { return m[key] && !m[key].IsNull(); };
        if (given("user")) route.match.user = user;
        if (given("to_user")) route.match.to_user = to_user;
        if (given("user_regex")) {
          auto re = make_regex(mp + ".user_regex", user_regex, m, file);
          if (!re) return re.error();
          route.match.user_regex = std::move(*re);
          route.match.user_regex_text = user_regex;
        }
        if (given("to_user_regex")) {
          auto re = make_regex(mp + ".to_user_regex", to_user_regex, m, file);
          if (!re) return re.error();
          route.match.to_user_regex = std::move(*re);
          route.match.to_user_regex_text = to_user_regex;
        }
        TRY(r.read_list(m, "source", mp, route.match.source));
      }
      if (auto a = n["auth"]) {
        std::string ap = path + ".auth";
        TRY(r.known_keys(a, "routes[].auth", ap));
        TRY(r.read(a, "realm", ap, route.auth.realm));
        YAML::Node users = a["users"];
        if (users && !users.IsNull() && !users.IsSequence())
          return config_error(ap + ".users", "must be a list of {username, password}", &users, file);
        if (users && users.IsSequence()) for (std::size_t u = 0; u < users.size(); ++u) {
          const YAML::Node& un = users[u];
          std::string up = ap + ".users[" + std::to_string(u) + "]";
          if (!un.IsMap()) return config_error(up, "must be a mapping", &un, file);
          RouteAuthUser user;
          for (const auto& kv : un) {
            std::string k = kv.first.as<std::string>();
            if (k != "username" && k != "password" && k != "password_env")
              return config_error(up + "." + k, "unknown key (username, password, password_env)",
                                  &kv.first, file);
          }
          TRY(r.read(un, "username", up, user.username));
          TRY(r.read(un, "password", up, user.password));
          TRY(r.read(un, "password_env", up, user.password_env));
          if (user.username.empty())
            return config_error(up + ".username", "is required", &un, file);
          if (user.password.empty() == user.password_env.empty())
            return config_error(up, "needs password or password_env (one of them)", &un, file);
          route.auth.users.push_back(std::move(user));
        }
      }
      c.routes.push_back(std::move(route));
    }
  }
  if (auto s = root["outbound"]) {
    OutboundConfig& o = c.outbound;
    TRY(r.known_keys(s, "outbound"));
    if (auto g = s["gateway"]) {
      TRY(r.known_keys(g, "outbound.gateway"));
      TRY(r.read(g, "uri", "outbound.gateway", o.gateway_uri));
      TRY(r.read(g, "username", "outbound.gateway", o.gateway_username));
      TRY(r.read(g, "password", "outbound.gateway", o.gateway_password));
      TRY(r.read(g, "from", "outbound.gateway", o.gateway_from));
    }
    for (const char* list : {"allow", "deny"}) {
      if (!s[list] || s[list].IsNull()) continue;  // not given: the default list
      std::vector<std::string> rules;
      TRY(r.read_list(s, list, "outbound", rules));
      (std::string(list) == "allow" ? o.allow : o.deny) = std::move(rules);
    }
    TRY(r.read(s, "country", "outbound", o.country));
    TRY(r.read(s, "max_legs_per_call", "outbound", o.max_legs_per_call));
    TRY(r.read(s, "max_legs_per_second", "outbound", o.max_legs_per_second));
  }
  if (auto s = root["http"]) {
    TRY(r.known_keys(s, "http"));
    TRY(r.read(s, "timeout", "http", c.http_timeout));
    TRY(r.read(s, "connect_timeout", "http", c.http_connect_timeout));
    TRY(r.read(s, "retries", "http", c.http_retries));
    TRY(r.read(s, "user_agent", "http", c.http_user_agent));
    TRY(r.read(s, "verify_tls", "http", c.http_verify_tls));
    TRY(r.read(s, "ca_file", "http", c.http_ca_file));
    TRY(r.read(s, "signing_secret", "http", c.http_signing_secret));
    TRY(r.read(s, "signature_header", "http", c.http_signature_header));
    TRY(r.read_list(s, "allowed_hosts", "http", c.http_allowed_hosts));
    TRY(r.read(s, "block_private", "http", c.http_block_private));
    TRY(r.read(s, "fetch_failure_code", "http", c.http_fetch_failure_code));
  }
  if (auto s = root["callbacks"]) {
    TRY(r.known_keys(s, "callbacks"));
    TRY(r.read(s, "project_id", "callbacks", c.project_id));
    TRY(r.read(s, "space_id", "callbacks", c.space_id));
    TRY(r.read(s, "node_id", "callbacks", c.node_id));
    TRY(r.read(s, "retries", "callbacks", c.callback_retries));
    TRY(r.read(s, "queue", "callbacks", c.callback_queue));
  }
  if (auto s = root["limits"]) {
    TRY(r.known_keys(s, "limits"));
    TRY(r.read(s, "max_calls", "limits", c.max_calls));
    TRY(r.read(s, "max_cps", "limits", c.max_cps));
    TRY(r.read(s, "max_steps", "limits", c.max_steps));
    TRY(r.read(s, "expression_time_per_call", "limits", c.expression_time_per_call));
    TRY(r.read(s, "requests_per_call", "limits", c.requests_per_call));
    TRY(r.read_list(s, "allow_sources", "limits", c.allow_sources));
  }
  if (auto s = root["refer"]) {
    TRY(r.known_keys(s, "refer"));
    TRY(r.read(s, "notify_timeout", "refer", c.refer_notify_timeout));
    TRY(r.read(s, "referred_by", "refer", c.referred_by));
  }
  if (auto s = root["recording"]) {
    TRY(r.known_keys(s, "recording"));
    TRY(r.read(s, "dir", "recording", c.recording_dir));
    TRY(r.read(s, "url", "recording", c.recording_url));
    if (auto u = s["upload"]) {
      TRY(r.known_keys(u, "recording.upload"));
      TRY(r.read(u, "url", "recording.upload", c.recording_upload_url));
      TRY(r.read(u, "method", "recording.upload", c.recording_upload_method));
      TRY(r.read(u, "bearer_token", "recording.upload", c.recording_upload_bearer_token));
      TRY(r.read(u, "retries", "recording.upload", c.recording_upload_retries));
      TRY(r.read(u, "keep_local", "recording.upload", c.recording_upload_keep_local));
    }
  }
  if (auto s = root["logging"]) {
    TRY(r.known_keys(s, "logging"));
    TRY(r.read(s, "level", "logging", c.log_level));
    TRY(r.read(s, "format", "logging", c.log_format));
  }
  if (auto s = root["metrics"]) {
    TRY(r.known_keys(s, "metrics"));
    TRY(r.read(s, "listen", "metrics", c.metrics_listen));
  }
  if (auto s = root["shutdown"]) {
    TRY(r.known_keys(s, "shutdown"));
    TRY(r.read(s, "drain_timeout", "shutdown", c.drain_timeout));
    TRY(r.read(s, "drain_min", "shutdown", c.drain_min));
  }
  if (auto s = root["engine"]) {
    TRY(r.known_keys(s, "engine"));
    TRY(r.read(s, "mode", "engine", c.engine_mode));
    TRY(r.read(s, "threads", "engine", c.engine_threads));
  }
  if (auto e = root["envs"]) {
    if (!e.IsMap()) return config_error("envs", "must be a mapping", &e, file);
    auto envs = to_value(e, "envs", file);
    if (!envs) return envs.error();
    c.envs = std::move(*envs);
  }
  return c;
}

// SWMLD_<SECTION>_<KEY> -> "section.key" (e.g. SWMLD_SIP_LISTEN -> sip.listen).
constexpr std::pair<const char*, const char*> kEnv[] = {
    {"SWMLD_SIP_LISTEN", "sip.listen"},
    {"SWMLD_SIP_PUBLIC_ADDRESS", "sip.public_address"},
    {"SWMLD_SIP_TLS_CERT_FILE", "sip.tls.cert_file"},
    {"SWMLD_SIP_TLS_KEY_FILE", "sip.tls.key_file"},
    {"SWMLD_SIP_TLS_CA_FILE", "sip.tls.ca_file"},
    {"SWMLD_SIP_TLS_VERIFY_PEER", "sip.tls.verify_peer"},
    {"SWMLD_SWML", "swml"},
    {"SWMLD_LOG_LEVEL", "logging.level"},
    {"SWMLD_LOG_FORMAT", "logging.format"},
    {"SWMLD_MAX_CALLS", "limits.max_calls"},
    {"SWMLD_MAX_CPS", "limits.max_cps"},
    {"SWMLD_METRICS_LISTEN", "metrics.listen"},
    {"SWMLD_REFER_NOTIFY_TIMEOUT", "refer.notify_timeout"},
    {"SWMLD_HTTP_SIGNING_SECRET", "http.signing_secret"},
    {"SWMLD_PROJECT_ID", "callbacks.project_id"},
    {"SWMLD_SPACE_ID", "callbacks.space_id"},
    {"SWMLD_NODE_ID", "callbacks.node_id"},
    {"SWMLD_ENGINE_MODE", "engine.mode"},
    {"SWMLD_RTP_PORT_MIN", "rtp.port_min"},
    {"SWMLD_RTP_PORT_MAX", "rtp.port_max"},
    {"SWMLD_RTP_PUBLIC_ADDRESS", "rtp.public_address"},
    {"SWMLD_MEDIA_ROOT", "media.root"},
    {"SWMLD_OUTBOUND_GATEWAY_URI", "outbound.gateway.uri"},
    {"SWMLD_OUTBOUND_GATEWAY_USERNAME", "outbound.gateway.username"},
    {"SWMLD_OUTBOUND_GATEWAY_PASSWORD", "outbound.gateway.password"},
    {"SWMLD_RECORDING_DIR", "recording.dir"},
    {"SWMLD_RECORDING_UPLOAD_BEARER_TOKEN", "recording.upload.bearer_token"},
};

Result<double> to_number(const std::string& key, const std::string& v) {
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0') return config_error(key, "must be a number, got '" + v + "'");
  return d;
}

}  // namespace

Status apply_override(Config& c, const std::string& key, const std::string& v) {
  auto num = [&](auto& field) -> Status {
    auto d = to_number(key, v);
    if (!d) return d.error();
    field = static_cast<std::remove_reference_t<decltype(field)>>(*d);
    return Ok{};
  };
  if (key == "sip.listen") {
    c.sip_listen.clear();
    std::stringstream ss(v);
    std::string item;
    while (std::getline(ss, item, ','))
      if (!item.empty()) c.sip_listen.push_back(item);
    return Ok{};
  }
  if (key == "sip.public_address") return c.sip_public_address = v, Status(Ok{});
  if (key == "sip.tls.cert_file") return c.sip_tls_cert_file = v, Status(Ok{});
  if (key == "sip.tls.key_file") return c.sip_tls_key_file = v, Status(Ok{});
  if (key == "sip.tls.ca_file") return c.sip_tls_ca_file = v, Status(Ok{});
  if (key == "sip.tls.verify_peer") {
    if (v == "true" || v == "1" || v == "yes") return c.sip_tls_verify_peer = true, Status(Ok{});
    if (v == "false" || v == "0" || v == "no") return c.sip_tls_verify_peer = false, Status(Ok{});
    return config_error(key, "must be true or false, got '" + v + "'");
  }
  if (key == "swml") {
    // One catch-all route, tried before those of the file.
    Route r;
    r.name = "--swml";
    r.swml = v;
    c.routes.insert(c.routes.begin(), std::move(r));
    return Ok{};
  }
  if (key == "logging.level") return c.log_level = v, Status(Ok{});
  if (key == "logging.format") return c.log_format = v, Status(Ok{});
  if (key == "limits.max_calls") return num(c.max_calls);
  if (key == "limits.max_cps") return num(c.max_cps);
  if (key == "metrics.listen") return c.metrics_listen = v, Status(Ok{});
  if (key == "refer.notify_timeout") return num(c.refer_notify_timeout);
  if (key == "http.signing_secret") return c.http_signing_secret = v, Status(Ok{});
  if (key == "callbacks.project_id") return c.project_id = v, Status(Ok{});
  if (key == "callbacks.space_id") return c.space_id = v, Status(Ok{});
  if (key == "callbacks.node_id") return c.node_id = v, Status(Ok{});
  if (key == "engine.mode") return c.engine_mode = v, Status(Ok{});
  if (key == "rtp.port_min") return num(c.media.rtp_ports.first);
  if (key == "rtp.port_max") return num(c.media.rtp_ports.second);
  if (key == "rtp.public_address") return c.media.public_address = v, Status(Ok{});
  if (key == "media.root") return c.media.media_root = v, Status(Ok{});
  if (key == "outbound.gateway.uri") return c.outbound.gateway_uri = v, Status(Ok{});
  if (key == "outbound.gateway.username") return c.outbound.gateway_username = v, Status(Ok{});
  if (key == "outbound.gateway.password") return c.outbound.gateway_password = v, Status(Ok{});
  if (key == "recording.dir") return c.recording_dir = v, Status(Ok{});
  if (key == "recording.upload.bearer_token")
    return c.recording_upload_bearer_token = v, Status(Ok{});
  return config_error(key, "cannot be overridden");
}

const std::vector<std::string>& config_keys() {
  static const std::vector<std::string> keys(std::begin(kKeys), std::end(kKeys));
  return keys;
}

const std::vector<std::pair<std::string, std::string>>& config_env_vars() {
  static const std::vector<std::pair<std::string, std::string>> vars(std::begin(kEnv),
                                                                     std::end(kEnv));
  return vars;
}

Result<Config> parse_config(const std::string& text, const std::string& source) {
  try {
    return parse(YAML::Load(text), source);
  } catch (const YAML::Exception& e) {
    SourcePos pos{source, e.mark.line + 1, e.mark.column + 1};
    return Error{ErrorCode::parse_error, "config: " + e.msg, pos};
  }
}

Result<Config> load_config(const std::string& path) {
  Result<Config> cfg = Config{};
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) return config_error("--config", "cannot read '" + path + "'");
    std::stringstream text;
    text << in.rdbuf();
    cfg = parse_config(text.str(), path);
    if (!cfg) return cfg;
  }
  for (const auto& [env, key] : kEnv) {
    if (const char* v = std::getenv(env)) {
      auto s = apply_override(*cfg, key, v);
      if (!s) return s.error();
    }
  }
  // routes[].auth.users[].password_env: the secret stays out of the file.
  for (std::size_t i = 0; i < cfg->routes.size(); ++i) {
    auto& users = cfg->routes[i].auth.users;
    for (std::size_t u = 0; u < users.size(); ++u) {
      if (users[u].password_env.empty()) continue;
      const char* v = std::getenv(users[u].password_env.c_str());
      if (!v || !*v)
        return config_error("routes[" + std::to_string(i) + "].auth.users[" + std::to_string(u) +
                                "].password_env",
                            "the environment variable '" + users[u].password_env + "' is not set");
      users[u].password = v;
    }
  }
  return cfg;
}

Status validate(const Config& c) {
  if (c.sip_listen.empty()) return config_error("sip.listen", "needs at least one address");
  if (auto s = media::validate(c.media); !s) return s.error();
  // The TLS files themselves are read and checked when the SIP stack starts (sip/tls.cpp).
  for (const auto& address : c.sip_listen)
    if (address.rfind("tls:", 0) == 0 && c.sip_tls_cert_file.empty())
      return config_error("sip.tls.cert_file",
                          "is required by the listen address '" + address + "'");
  if (c.sip_tls_verify_peer && c.sip_tls_ca_file.empty())
    return config_error("sip.tls.ca_file", "is required with sip.tls.verify_peer: true");
  if (c.routes.empty())
    return config_error("routes", "no route: give at least one route or --swml FILE|URL");
  if (c.log_format != "text" && c.log_format != "json")
    return config_error("logging.format", "must be text or json");
  if (c.log_level != "trace" && c.log_level != "debug" && c.log_level != "info" &&
      c.log_level != "warn" && c.log_level != "error" && c.log_level != "off")
    return config_error("logging.level", "must be trace, debug, info, warn, error or off");
  if (c.max_calls < 1) return config_error("limits.max_calls", "must be at least 1");
  if (!(c.sip_tcp_idle_timeout_s >= 1 && c.sip_tcp_idle_timeout_s <= 86400))
    return config_error("sip.tcp_idle_timeout", "must be 1 to 86400 seconds");
  if (!(c.sip_message_timeout_s >= 1 && c.sip_message_timeout_s <= 600))
    return config_error("sip.message_timeout", "must be 1 to 600 seconds");
  if (!(c.sip_transaction_timeout_s >= 1 && c.sip_transaction_timeout_s <= 64))
    return config_error("sip.transaction_timeout", "must be 1 to 64 seconds");
  if (c.sip_max_message_bytes < 4096 || c.sip_max_message_bytes > (1u << 22))
    return config_error("sip.max_message_bytes", "must be 4096 to 4194304");
  if (c.sip_tcp_max_connections_per_source < 0 || c.sip_tcp_max_connections_per_source > 65536)
    return config_error("sip.tcp_max_connections_per_source", "must be 0 (no limit) to 65536");
  if (c.max_cps <= 0) return config_error("limits.max_cps", "must be positive");
  if (c.max_steps < 1) return config_error("limits.max_steps", "must be at least 1");
  if (c.requests_per_call < 0 || c.requests_per_call > 1000)
    return config_error("limits.requests_per_call", "must be 0 to 1000");
  if (!(c.expression_time_per_call >= 0 && c.expression_time_per_call <= 3600))
    return config_error("limits.expression_time_per_call", "must be 0 (no limit) to 3600 seconds");
  if (c.refer_notify_timeout <= 0 || c.refer_notify_timeout > 3600)
    return config_error("refer.notify_timeout", "must be between 0 and 3600 seconds");
  if (c.http_timeout <= 0 || c.http_connect_timeout <= 0)
    return config_error("http.timeout", "timeouts must be positive (swmld never waits unbounded)");
  if (c.http_fetch_failure_code < 300 || c.http_fetch_failure_code > 699)
    return config_error("http.fetch_failure_code", "must be a SIP failure code (300..699)");
  if (c.drain_timeout < 0) return config_error("shutdown.drain_timeout", "must be >= 0");
  if (c.drain_min < 0 || c.drain_min > c.drain_timeout)
    return config_error("shutdown.drain_min", "must be between 0 and shutdown.drain_timeout");
  if (c.engine_mode != "sip_thread" && c.engine_mode != "threads")
    return config_error("engine.mode", "must be sip_thread or threads, got '" + c.engine_mode + "'");
  if (c.engine_threads < 0) return config_error("engine.threads", "must be >= 0");
  for (std::size_t i = 0; i < c.routes.size(); ++i) {
    const RouteAuth& auth = c.routes[i].auth;
    const std::string key = "routes[" + std::to_string(i) + "].auth";
    if (!auth.realm.empty() && auth.users.empty())
      return config_error(key + ".users", "needs at least one {username, password}");
    if (auth.realm.empty() && !auth.users.empty())
      return config_error(key + ".realm", "is required (the realm of the challenge)");
    if (auth.realm.find('"') != std::string::npos)
      return config_error(key + ".realm", "must not hold '\"'");
    for (std::size_t u = 0; u < auth.users.size(); ++u)
      for (std::size_t v = 0; v < u; ++v)
        if (auth.users[u].username == auth.users[v].username)
          return config_error(key + ".users[" + std::to_string(u) + "].username",
                              "'" + auth.users[u].username + "' is given twice");
  }
  if (auto s = check_outbound(c.outbound); !s) return s.error();
  if (c.recording_dir.empty()) return config_error("recording.dir", "must name a folder");
  if (c.recording_upload_method != "PUT" && c.recording_upload_method != "POST")
    return config_error("recording.upload.method", "must be PUT or POST");
  if (c.recording_upload_retries < 0 || c.recording_upload_retries > 20)
    return config_error("recording.upload.retries", "must be 0 to 20");
  if (!c.recording_upload_url.empty() && c.recording_upload_url.rfind("http://", 0) != 0 &&
      c.recording_upload_url.rfind("https://", 0) != 0)
    return config_error("recording.upload.url", "must be an http:// or https:// URL");
  return Ok{};
}

}  // namespace swmld::app
