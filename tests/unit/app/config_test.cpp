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
  auto c = load_config(write("tcp.yaml", "sip: {tcp_idle_timeout: 30, message_timeout: 5, "
                                         "max_message_bytes: 16384}\nroutes: [{swml: a.yaml}]\n"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->sip_tcp_idle_timeout_s, 30);
  EXPECT_EQ(c->sip_message_timeout_s, 5);
  EXPECT_EQ(c->sip_max_message_bytes, 16384u);
  EXPECT_TRUE(validate(*c));
  Config bad = *c;
  bad.sip_max_message_bytes = 100;
  EXPECT_NE(validate(bad).error().message.find("'sip.max_message_bytes'"), std::string::npos);
  bad = *c;
  bad.sip_message_timeout_s = 0;
  EXPECT_NE(validate(bad).error().message.find("'sip.message_timeout'"), std::string::npos);
  bad = *c;
  bad.sip_tcp_idle_timeout_s = 0.5;
  EXPECT_NE(validate(bad).error().message.find("'sip.tcp_idle_timeout'"), std::string::npos);
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
