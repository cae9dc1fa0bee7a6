// Configuration: defaults, file values, unknown keys, environment and CLI precedence.
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "config.hpp"
#include "document_fetcher.hpp"
#include "temp_files.hpp"

namespace swmld::app {
namespace {

using testing_files::write;

TEST(Config, FileValuesAndDefaults) {
  auto c = load_config(write("a.yaml", R"(
sip: {listen: ["udp:127.0.0.1:5070"]}
routes:
  - name: sales
    match: {user_regex: "^5\\d\\d$", source: ["10.0.0.0/8"]}
    swml: sales.yaml
    params: {team: sales}
refer: {notify_timeout: 2.5}
)"));
  ASSERT_TRUE(c.ok()) << c.error().str();
  EXPECT_EQ(c->sip_listen, std::vector<std::string>{"udp:127.0.0.1:5070"});
  ASSERT_EQ(c->routes.size(), 1u);
  EXPECT_EQ(c->routes[0].name, "sales");
  EXPECT_TRUE(std::regex_match("512", *c->routes[0].match.user_regex));
  EXPECT_EQ(c->routes[0].params, Value({{"team", "sales"}}));
  EXPECT_DOUBLE_EQ(c->refer_notify_timeout, 2.5);
  EXPECT_EQ(c->max_calls, 1000);
  EXPECT_TRUE(validate(*c).ok());
}

TEST(Config, UnknownKeyIsNamedWithItsPosition) {
  auto c = load_config(write("b.yaml", "limits:\n  max_call: 5\nroutes: [{swml: a.yaml}]\n"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().str().find("b.yaml:2:3"), std::string::npos) << c.error().str();
  EXPECT_NE(c.error().message.find("'limits.max_call': unknown key"), std::string::npos);
}

TEST(Config, AKeyWrittenDottedOrBracketedIsUnknown) {
  // The documentation names keys "sip.listen" and "routes[].swml"; a file must nest them.
  for (const char* text : {"sip.listen: [udp:127.0.0.1:5999]\n", "routes[]: {swml: a.yaml}\n",
                           "routes:\n  - {swml: a.yaml, match.user: x}\n"}) {
    auto c = load_config(write("dotted.yaml", text));
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.error().message.find("unknown key"), std::string::npos) << c.error().str();
  }
}

TEST(Config, WrongTypeAndBadRegexAreErrors) {
  auto c = load_config(write("c.yaml", "limits: {max_calls: lots}\n"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("'limits.max_calls': has the wrong type"), std::string::npos);
  auto r = load_config(write("d.yaml", "routes: [{swml: a.yaml, match: {user_regex: '('}}]\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("routes[0].match.user_regex"), std::string::npos);
}

TEST(Config, EnvironmentOverridesTheFileAndCliOverridesBoth) {
  std::string path = write("e.yaml", "logging: {level: debug}\nroutes: [{swml: a.yaml}]\n");
  ::setenv("SWMLD_LOG_LEVEL", "warn", 1);
  ::setenv("SWMLD_SIP_LISTEN", "udp:127.0.0.1:6000,tcp:127.0.0.1:6000", 1);
  auto c = load_config(path);
  ::unsetenv("SWMLD_LOG_LEVEL");
  ::unsetenv("SWMLD_SIP_LISTEN");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->log_level, "warn");
  EXPECT_EQ(c->sip_listen.size(), 2u);
  ASSERT_TRUE(apply_override(*c, "logging.level", "error").ok());
  ASSERT_TRUE(apply_override(*c, "swml", "other.yaml").ok());
  EXPECT_EQ(c->log_level, "error");
  EXPECT_EQ(c->routes.front().swml, "other.yaml");  // --swml is tried first
  EXPECT_FALSE(apply_override(*c, "limits.max_calls", "many").ok());
}

TEST(Config, ParseConfigReadsTextAndNoEnvironment) {
  ::setenv("SWMLD_LOG_LEVEL", "warn", 1);
  auto c = parse_config("logging: {level: debug}\nroutes: [{swml: a.yaml}]\n", "text.yaml");
  ::unsetenv("SWMLD_LOG_LEVEL");
  ASSERT_TRUE(c.ok()) << c.error().str();
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->source, "text.yaml");
  auto bad = parse_config("sip: {listen: [x\n", "text.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::parse_error);
  EXPECT_EQ(bad.error().pos.file, "text.yaml");
}

// Found by fuzz_config: a latin-1 byte in envs made the SIGHUP reload's comparison throw
// (nlohmann::json::dump) and end swmld. Values that travel as JSON must be UTF-8.
TEST(Config, EnvsAndParamsMustBeUtf8) {
  auto envs = parse_config("envs:\n  api: {key: \"caf\xe9\"}\nroutes: [{swml: a.yaml}]\n", "u.yaml");
  ASSERT_FALSE(envs.ok());
  EXPECT_EQ(envs.error().message, "config key 'envs.api.key': is not valid UTF-8");
  EXPECT_EQ(envs.error().pos.line, 2);
  auto params = parse_config("routes:\n  - swml: a.yaml\n    params: {list: [ok, \"\xff\"]}\n", "u.yaml");
  ASSERT_FALSE(params.ok());
  EXPECT_EQ(params.error().message, "config key 'routes[0].params.list[1]': is not valid UTF-8");
  auto key = parse_config("envs: {\"\xc3\": 1}\n", "u.yaml");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().message, "config key 'envs': has a key that is not valid UTF-8");
  auto good = parse_config("envs: {caf\xc3\xa9: \"\xe2\x82\xac\"}\n", "u.yaml");
  ASSERT_TRUE(good.ok()) << good.error().str();
  EXPECT_EQ(good->envs["caf\xc3\xa9"], "\xe2\x82\xac");
}

TEST(Config, ValidateNamesTheKey) {
  Config c;
  EXPECT_NE(validate(c).error().message.find("'routes'"), std::string::npos);
  c.routes.push_back(Route{"r", {}, "a.yaml", "", Value::object()});
  c.log_format = "xml";
  EXPECT_NE(validate(c).error().message.find("'logging.format'"), std::string::npos);
  c.log_format = "json";
  c.media.codecs = {"G729"};
  EXPECT_NE(validate(c).error().message.find("'rtp.codecs'"), std::string::npos);
}

TEST(Config, ExpressionTimePerCallFromFileAndChecked) {
  auto c = load_config(write("expr.yaml", "limits: {expression_time_per_call: 0.25}\n"
                                          "routes: [{swml: a.yaml}]\n"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_DOUBLE_EQ(c->expression_time_per_call, 0.25);
  EXPECT_TRUE(validate(*c));
  EXPECT_DOUBLE_EQ(Config{}.expression_time_per_call, 1.0);
  Config bad = *c;
  bad.expression_time_per_call = -1;
  ASSERT_FALSE(validate(bad));
  EXPECT_NE(validate(bad).error().message.find("'limits.expression_time_per_call'"),
            std::string::npos);
}

TEST(Config, SipTcpBoundsFromFileAndChecked) {
  auto c = load_config(write("tcp.yaml",
                             "sip: {tcp_idle_timeout: 30, message_timeout: 5, "
                             "transaction_timeout: 4, "
                             "max_message_bytes: 16384, tcp_max_connections_per_source: 8}\n"
                             "routes: [{swml: a.yaml}]\n"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->sip_tcp_max_connections_per_source, 8);
  EXPECT_EQ(c->sip_tcp_idle_timeout_s, 30);
  EXPECT_EQ(c->sip_message_timeout_s, 5);
  EXPECT_EQ(c->sip_transaction_timeout_s, 4);
  EXPECT_EQ(c->sip_max_message_bytes, 16384u);
  EXPECT_TRUE(validate(*c));
  Config bad = *c;
  bad.sip_max_message_bytes = 100;
  EXPECT_NE(validate(bad).error().message.find("'sip.max_message_bytes'"), std::string::npos);
  bad = *c;
  bad.sip_message_timeout_s = 0;
  EXPECT_NE(validate(bad).error().message.find("'sip.message_timeout'"), std::string::npos);
  bad = *c;
  bad.sip_transaction_timeout_s = 0.5;
  EXPECT_NE(validate(bad).error().message.find("'sip.transaction_timeout'"), std::string::npos);
  bad.sip_transaction_timeout_s = 65;
  EXPECT_NE(validate(bad).error().message.find("'sip.transaction_timeout'"), std::string::npos);
  bad = *c;
  bad.sip_tcp_idle_timeout_s = 0.5;
  EXPECT_NE(validate(bad).error().message.find("'sip.tcp_idle_timeout'"), std::string::npos);
  bad = *c;
  bad.sip_tcp_max_connections_per_source = -1;
  EXPECT_NE(validate(bad).error().message.find("'sip.tcp_max_connections_per_source'"), std::string::npos);
  bad.sip_tcp_max_connections_per_source = 0;  // no limit
  EXPECT_TRUE(validate(bad));
}

TEST(Config, ShutdownDrainMinFromFileAndChecked) {
  EXPECT_EQ(Config{}.drain_min, 0);
  auto c = load_config(write("drain.yaml",
                             "shutdown: {drain_timeout: 20, drain_min: 3}\n"
                             "routes: [{swml: a.yaml}]\n"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->drain_timeout, 20);
  EXPECT_EQ(c->drain_min, 3);
  EXPECT_TRUE(validate(*c));
  Config bad = *c;
  bad.drain_min = 21;  // longer than the calls may take: the node would never go
  EXPECT_NE(validate(bad).error().message.find("'shutdown.drain_min'"), std::string::npos);
  bad.drain_min = -1;
  EXPECT_NE(validate(bad).error().message.find("'shutdown.drain_min'"), std::string::npos);
}

TEST(Config, SipTlsKeysFromFileAndEnvironmentAndChecked) {
  auto c = load_config(write("tls.yaml", R"(
sip:
  listen: ["tls:127.0.0.1:5061"]
  tls: {cert_file: /etc/swmld/cert.pem, key_file: /etc/swmld/key.pem, verify_peer: true}
routes: [{swml: a.yaml}]
)"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->sip_tls_cert_file, "/etc/swmld/cert.pem");
  EXPECT_EQ(c->sip_tls_key_file, "/etc/swmld/key.pem");
  EXPECT_TRUE(c->sip_tls_verify_peer);
  // verify_peer without a CA file: nothing to verify against.
  EXPECT_NE(validate(*c).error().message.find("'sip.tls.ca_file'"), std::string::npos);
  ::setenv("SWMLD_SIP_TLS_CA_FILE", "/etc/swmld/ca.pem", 1);
  ::setenv("SWMLD_SIP_TLS_VERIFY_PEER", "false", 1);
  auto e = load_config(write("tls.yaml", "sip: {listen: ['tls:127.0.0.1:5061'], tls: {cert_file: c.pem}}\n"
                                         "routes: [{swml: a.yaml}]\n"));
  ::unsetenv("SWMLD_SIP_TLS_CA_FILE");
  ::unsetenv("SWMLD_SIP_TLS_VERIFY_PEER");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->sip_tls_ca_file, "/etc/swmld/ca.pem");
  EXPECT_FALSE(e->sip_tls_verify_peer);
  EXPECT_TRUE(validate(*e));
  Config bad = *e;
  bad.sip_tls_cert_file.clear();
  EXPECT_EQ(validate(bad).error().message,
            "config key 'sip.tls.cert_file': is required by the listen address 'tls:127.0.0.1:5061'");
  EXPECT_NE(apply_override(bad, "sip.tls.verify_peer", "maybe").error().message.find("'sip.tls.verify_peer'"),
            std::string::npos);
  auto unknown = load_config(write("tls.yaml", "sip: {tls: {cert: c.pem}}\n"));
  EXPECT_NE(unknown.error().message.find("'sip.tls.cert'"), std::string::npos);
}

TEST(Config, EngineModeFromFileAndEnvironmentAndChecked) {
  Config defaults;
  EXPECT_EQ(defaults.engine_mode, "sip_thread");
  auto c = load_config(write("f.yaml", "engine: {mode: threads, threads: 3}\nroutes: [{swml: a.yaml}]\n"));
  ASSERT_TRUE(c.ok()) << c.error().str();
  EXPECT_EQ(c->engine_mode, "threads");
  EXPECT_EQ(c->engine_threads, 3);
  EXPECT_TRUE(validate(*c).ok());
  ::setenv("SWMLD_ENGINE_MODE", "sip_thread", 1);
  auto e = load_config(write("g.yaml", "engine: {mode: threads}\nroutes: [{swml: a.yaml}]\n"));
  ::unsetenv("SWMLD_ENGINE_MODE");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->engine_mode, "sip_thread");
  e->engine_mode = "fibers";
  auto v = validate(*e);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("'engine.mode': must be sip_thread or threads, got 'fibers'"),
            std::string::npos)
      << v.error().message;
}

TEST(DocumentFetch, ContentTypeStatusAndValidation) {
  using H = std::vector<std::pair<std::string, std::string>>;
  auto ok = parse_fetched_document("https://u:pw@h/doc", 200, H{{"Content-Type", "text/x-yaml; charset=utf-8"}},
                                   "- answer\n", "");
  EXPECT_TRUE(ok.ok());
  auto html = parse_fetched_document("https://u:pw@h/doc", 200, H{{"content-type", "text/html"}}, "<p>", "");
  ASSERT_FALSE(html.ok());
  EXPECT_EQ(html.error().code, ErrorCode::parse_error);
  EXPECT_EQ(html.error().message.find("pw"), std::string::npos) << html.error().message;
  auto down = parse_fetched_document("https://h/doc", 0, H{}, "", "connection refused");
  EXPECT_EQ(down.error().message, "fetching https://h/doc: connection refused");
  auto bad = parse_fetched_document("https://h/doc", 200, H{{"Content-Type", "application/json"}},
                                    R"({"sections": {"main": [{"plya": {}}]}})", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().pos.file, "https://h/doc");
  EXPECT_EQ(bad.error().code, ErrorCode::method_undefined);
}

TEST(DocumentFetch, CacheControl) {
  using H = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(cache_seconds(H{{"Cache-Control", "public, max-age=60"}}), 60);
  EXPECT_EQ(cache_seconds(H{{"cache-control", "max-age=60, s-maxage=30"}}), 30);
  EXPECT_EQ(cache_seconds(H{{"Cache-Control", "no-store, max-age=60"}}), 0);
  EXPECT_EQ(cache_seconds(H{{"Cache-Control", "private, max-age=60"}}), 0);
  EXPECT_EQ(cache_seconds(H{}), 0);
}

}  // namespace
}  // namespace swmld::app
