// Reading and validating swmld.yaml. Unknown keys are errors (a typo must not be silently
// ignored); every error names the key path and, for file values, line and column.
#include "config.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "swmld/core/url.hpp"

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

  Status known_keys(const YAML::Node& n, const std::string& path,
                    std::initializer_list<const char*> keys) {
    if (!n) return Ok{};
    if (!n.IsMap()) return config_error(path, "must be a mapping", &n, file);
    for (const auto& kv : n) {
      std::string k = kv.first.as<std::string>();
      bool ok = false;
      for (const char* known : keys) ok = ok || k == known;
      if (!ok) return config_error(path.empty() ? k : path + "." + k, "unknown key", &kv.first, file);
    }
    return Ok{};
  }
};

Value to_value(const YAML::Node& n) {
  if (!n || n.IsNull()) return nullptr;
  if (n.IsScalar()) return n.as<std::string>();
  if (n.IsSequence()) {
    Value a = Value::array();
    for (const auto& i : n) a.push_back(to_value(i));
    return a;
  }
  Value o = Value::object();
  for (const auto& kv : n) o[kv.first.as<std::string>()] = to_value(kv.second);
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
  TRY(r.known_keys(root, "", {"sip", "rtp", "media", "routes", "http", "callbacks", "limits",
                              "refer", "logging", "metrics", "envs", "shutdown", "engine"}));
  if (auto s = root["sip"]) {
    TRY(r.known_keys(s, "sip", {"listen", "public_address", "user_agent", "ring",
                                "tcp_idle_timeout", "message_timeout", "max_message_bytes"}));
    TRY(r.read_list(s, "listen", "sip", c.sip_listen));
    TRY(r.read(s, "public_address", "sip", c.sip_public_address));
    TRY(r.read(s, "user_agent", "sip", c.sip_user_agent));
    TRY(r.read(s, "ring", "sip", c.sip_ring));
    TRY(r.read(s, "tcp_idle_timeout", "sip", c.sip_tcp_idle_timeout_s));
    TRY(r.read(s, "message_timeout", "sip", c.sip_message_timeout_s));
    TRY(r.read(s, "max_message_bytes", "sip", c.sip_max_message_bytes));
  }
  if (auto s = root["rtp"]) {
    media::MediaConfig& m = c.media;
    TRY(r.known_keys(s, "rtp", {"port_min", "port_max", "codecs", "ptime", "threads", "latch",
                                "rtcp", "idle_silence", "public_address"}));
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
    TRY(r.known_keys(s, "media", {"root", "cache_mb", "max_file_mb", "max_seconds", "workers",
                                  "dtmf_duration_ms", "dtmf_gap_ms", "dtmf_volume"}));
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
      TRY(r.known_keys(n, path, {"name", "match", "swml", "fallback", "params"}));
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
        route.params = to_value(p);
      }
      if (auto m = n["match"]) {
        std::string mp = path + ".match";
        TRY(r.known_keys(m, mp, {"user", "user_regex", "to_user", "to_user_regex", "source"}));
        if (m["user"]) route.match.user = m["user"].as<std::string>();
        if (m["to_user"]) route.match.to_user = m["to_user"].as<std::string>();
        if (m["user_regex"]) {
          auto re = make_regex(mp + ".user_regex", m["user_regex"].as<std::string>(), m, file);
          if (!re) return re.error();
          route.match.user_regex = std::move(*re);
          route.match.user_regex_text = m["user_regex"].as<std::string>();
        }
        if (m["to_user_regex"]) {
          auto re = make_regex(mp + ".to_user_regex", m["to_user_regex"].as<std::string>(), m, file);
          if (!re) return re.error();
          route.match.to_user_regex = std::move(*re);
          route.match.to_user_regex_text = m["to_user_regex"].as<std::string>();
        }
        TRY(r.read_list(m, "source", mp, route.match.source));
      }
      c.routes.push_back(std::move(route));
    }
  }
  if (auto s = root["http"]) {
    TRY(r.known_keys(s, "http", {"timeout", "connect_timeout", "retries", "user_agent",
                                 "verify_tls", "ca_file", "signing_secret", "allowed_hosts",
                                 "block_private", "fetch_failure_code", "signature_header"}));
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
    TRY(r.known_keys(s, "callbacks", {"project_id", "space_id", "node_id", "retries", "queue"}));
    TRY(r.read(s, "project_id", "callbacks", c.project_id));
    TRY(r.read(s, "space_id", "callbacks", c.space_id));
    TRY(r.read(s, "node_id", "callbacks", c.node_id));
    TRY(r.read(s, "retries", "callbacks", c.callback_retries));
    TRY(r.read(s, "queue", "callbacks", c.callback_queue));
  }
  if (auto s = root["limits"]) {
    TRY(r.known_keys(s, "limits", {"max_calls", "max_cps", "max_steps", "allow_sources",
                                           "expression_time_per_call"}));
    TRY(r.read(s, "max_calls", "limits", c.max_calls));
    TRY(r.read(s, "max_cps", "limits", c.max_cps));
    TRY(r.read(s, "max_steps", "limits", c.max_steps));
    TRY(r.read(s, "expression_time_per_call", "limits", c.expression_time_per_call));
    TRY(r.read_list(s, "allow_sources", "limits", c.allow_sources));
  }
  if (auto s = root["refer"]) {
    TRY(r.known_keys(s, "refer", {"notify_timeout", "referred_by"}));
    TRY(r.read(s, "notify_timeout", "refer", c.refer_notify_timeout));
    TRY(r.read(s, "referred_by", "refer", c.referred_by));
  }
  if (auto s = root["logging"]) {
    TRY(r.known_keys(s, "logging", {"level", "format"}));
    TRY(r.read(s, "level", "logging", c.log_level));
    TRY(r.read(s, "format", "logging", c.log_format));
  }
  if (auto s = root["metrics"]) {
    TRY(r.known_keys(s, "metrics", {"listen"}));
    TRY(r.read(s, "listen", "metrics", c.metrics_listen));
  }
  if (auto s = root["shutdown"]) {
    TRY(r.known_keys(s, "shutdown", {"drain_timeout"}));
    TRY(r.read(s, "drain_timeout", "shutdown", c.drain_timeout));
  }
  if (auto s = root["engine"]) {
    TRY(r.known_keys(s, "engine", {"mode", "threads"}));
    TRY(r.read(s, "mode", "engine", c.engine_mode));
    TRY(r.read(s, "threads", "engine", c.engine_threads));
  }
  if (auto e = root["envs"]) {
    if (!e.IsMap()) return config_error("envs", "must be a mapping", &e, file);
    c.envs = to_value(e);
  }
  return c;
}

// SWMLD_<SECTION>_<KEY> -> "section.key" (e.g. SWMLD_SIP_LISTEN -> sip.listen).
constexpr std::pair<const char*, const char*> kEnv[] = {
    {"SWMLD_SIP_LISTEN", "sip.listen"},
    {"SWMLD_SIP_PUBLIC_ADDRESS", "sip.public_address"},
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
  return config_error(key, "cannot be overridden");
}

Result<Config> load_config(const std::string& path) {
  Result<Config> cfg = Config{};
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) return config_error("--config", "cannot read '" + path + "'");
    std::stringstream text;
    text << in.rdbuf();
    try {
      cfg = parse(YAML::Load(text.str()), path);
    } catch (const YAML::Exception& e) {
      SourcePos pos{path, e.mark.line + 1, e.mark.column + 1};
      return Error{ErrorCode::parse_error, "config: " + e.msg, pos};
    }
    if (!cfg) return cfg;
  }
  for (const auto& [env, key] : kEnv) {
    if (const char* v = std::getenv(env)) {
      auto s = apply_override(*cfg, key, v);
      if (!s) return s.error();
    }
  }
  return cfg;
}

Status validate(const Config& c) {
  if (c.sip_listen.empty()) return config_error("sip.listen", "needs at least one address");
  if (auto s = media::validate(c.media); !s) return s.error();
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
  if (c.sip_max_message_bytes < 4096 || c.sip_max_message_bytes > (1u << 22))
    return config_error("sip.max_message_bytes", "must be 4096 to 4194304");
  if (c.max_cps <= 0) return config_error("limits.max_cps", "must be positive");
  if (c.max_steps < 1) return config_error("limits.max_steps", "must be at least 1");
  if (!(c.expression_time_per_call >= 0 && c.expression_time_per_call <= 3600))
    return config_error("limits.expression_time_per_call", "must be 0 (no limit) to 3600 seconds");
  if (c.refer_notify_timeout <= 0 || c.refer_notify_timeout > 3600)
    return config_error("refer.notify_timeout", "must be between 0 and 3600 seconds");
  if (c.http_timeout <= 0 || c.http_connect_timeout <= 0)
    return config_error("http.timeout", "timeouts must be positive (swmld never waits unbounded)");
  if (c.http_fetch_failure_code < 300 || c.http_fetch_failure_code > 699)
    return config_error("http.fetch_failure_code", "must be a SIP failure code (300..699)");
  if (c.drain_timeout < 0) return config_error("shutdown.drain_timeout", "must be >= 0");
  if (c.engine_mode != "sip_thread" && c.engine_mode != "threads")
    return config_error("engine.mode", "must be sip_thread or threads, got '" + c.engine_mode + "'");
  if (c.engine_threads < 0) return config_error("engine.threads", "must be >= 0");
  return Ok{};
}

}  // namespace swmld::app
