// Configuration reload: which keys a SIGHUP applies, which need a restart (and keep their
// running value), the route table built from a configuration, and `swmld check --config`.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "check.hpp"
#include "config.hpp"
#include "reload.hpp"
#include "route_table.hpp"
#include "temp_files.hpp"

namespace swmld::app {
namespace {

using testing_files::write;

const char* kDoc = "version: 1.0.0\nsections:\n  main:\n    - answer\n    - hangup\n";

Config parse(const std::string& name, const std::string& text) {
  auto c = load_config(write(name, text));
  EXPECT_TRUE(c.ok()) << c.error().str();
  return c.ok() ? *c : Config{};
}

TEST(ReloadPlan, SameConfigurationChangesNothing) {
  Config a = parse("r0.yaml", "routes: [{swml: a.yaml, match: {user_regex: '^1'}}]\n");
  ReloadPlan plan = plan_reload(a, a);
  EXPECT_TRUE(plan.changed.empty());
  EXPECT_TRUE(plan.needs_restart.empty());
}

TEST(ReloadPlan, RoutesLimitsAndLogLevelAreTakenAndNamed) {
  Config running = parse("r1.yaml", R"(
routes: [{swml: a.yaml}]
limits: {max_calls: 10, max_cps: 5}
logging: {level: info}
)");
  Config loaded = parse("r2.yaml", R"(
routes: [{name: vip, swml: b.yaml, match: {user: "100"}}, {swml: a.yaml}]
limits: {max_calls: 20, max_cps: 5, max_steps: 50, allow_sources: [10.0.0.0/8]}
logging: {level: debug}
envs: {greeting: hi}
refer: {notify_timeout: 3}
)");
  ReloadPlan plan = plan_reload(running, loaded);
  EXPECT_EQ(plan.changed, (std::vector<std::string>{"routes", "limits.max_calls", "limits.max_steps",
                                                    "limits.allow_sources", "logging.level", "envs",
                                                    "refer.notify_timeout"}));
  EXPECT_TRUE(plan.needs_restart.empty());
  ASSERT_EQ(plan.config.routes.size(), 2u);
  EXPECT_EQ(plan.config.routes[0].name, "vip");
  EXPECT_EQ(plan.config.max_calls, 20);
  EXPECT_EQ(plan.config.max_steps, 50);
  EXPECT_EQ(plan.config.log_level, "debug");
  EXPECT_EQ(plan.config.envs, Value({{"greeting", "hi"}}));
  EXPECT_DOUBLE_EQ(plan.config.refer_notify_timeout, 3);
}

TEST(ReloadPlan, KeysThatNeedARestartKeepTheirRunningValue) {
  Config running = parse("r3.yaml", R"(
sip: {listen: ["udp:127.0.0.1:5060"]}
rtp: {port_min: 20000, port_max: 20999}
metrics: {listen: "127.0.0.1:9090"}
engine: {mode: sip_thread}
http: {signing_secret: old-secret}
routes: [{swml: a.yaml}]
)");
  Config loaded = parse("r4.yaml", R"(
sip: {listen: ["udp:127.0.0.1:5070"], tls: {cert_file: new.pem}}
rtp: {port_min: 30000, port_max: 30999}
metrics: {listen: "127.0.0.1:9191"}
engine: {mode: threads, threads: 4}
http: {signing_secret: new-secret}
limits: {max_cps: 7}
routes: [{swml: a.yaml}]
)");
  ReloadPlan plan = plan_reload(running, loaded);
  EXPECT_EQ(plan.needs_restart,
            (std::vector<std::string>{"sip.listen", "sip.tls.cert_file", "rtp.port_min", "rtp.port_max",
                                      "http.signing_secret", "metrics.listen", "engine.mode",
                                      "engine.threads"}));
  EXPECT_EQ(plan.changed, std::vector<std::string>{"limits.max_cps"});
  EXPECT_EQ(plan.config.sip_listen, std::vector<std::string>{"udp:127.0.0.1:5060"});
  EXPECT_EQ(plan.config.media.rtp_ports, std::make_pair(20000, 20999));
  EXPECT_EQ(plan.config.metrics_listen, "127.0.0.1:9090");
  EXPECT_EQ(plan.config.engine_mode, "sip_thread");
  EXPECT_EQ(plan.config.http_signing_secret, "old-secret");
  EXPECT_DOUBLE_EQ(plan.config.max_cps, 7);
}

TEST(ReloadPlan, ARouteRegexWrittenDifferentlyIsAChange) {
  Config a = parse("r5.yaml", "routes: [{swml: a.yaml, match: {user_regex: '^1'}}]\n");
  Config b = parse("r6.yaml", "routes: [{swml: a.yaml, match: {user_regex: '^2'}}]\n");
  EXPECT_EQ(plan_reload(a, b).changed, std::vector<std::string>{"routes"});
  EXPECT_TRUE(std::regex_match("2", *plan_reload(a, b).config.routes[0].match.user_regex));
}

TEST(ReloadPlan, EveryReloadableKeyIsListed) {
  EXPECT_EQ(reloadable_keys(),
            (std::vector<std::string>{"routes", "limits.max_calls", "limits.max_cps", "limits.max_steps",
                                      "limits.expression_time_per_call", "limits.requests_per_call",
                                      "limits.allow_sources",
                                      "logging.level", "envs",
                                      "refer.notify_timeout", "refer.referred_by", "recording.dir",
                                      "recording.url", "recording.upload.url",
                                      "recording.upload.method", "recording.upload.bearer_token",
                                      "recording.upload.retries", "recording.upload.keep_local",
                                      "sip.ring",
                                      "http.fetch_failure_code", "shutdown.drain_timeout",
                                      "shutdown.drain_min", "outbound.gateway.uri",
                                      "outbound.gateway.username", "outbound.gateway.password",
                                      "outbound.gateway.from", "outbound.allow", "outbound.deny",
                                      "outbound.country", "outbound.max_legs_per_call",
                                      "outbound.max_legs_per_second"}));
}

TEST(RouteTable, MatchesInOrderAndLoadsEachDocumentOnce) {
  std::string doc = write("rt_doc.yaml", kDoc);
  Config c = parse("rt1.yaml", "routes:\n"
                               "  - {name: vip, swml: " + doc + ", match: {user: '100', source: [10.0.0.0/8]}}\n"
                               "  - {name: other, swml: " + doc + "}\n"
                               "limits: {allow_sources: [10.0.0.0/8, 127.0.0.1]}\n");
  auto table = RouteTable::build(c);
  ASSERT_TRUE(table.ok()) << table.error().str();
  EXPECT_EQ((*table)->size(), 2u);
  EXPECT_EQ((*table)->documents(), 1u);
  EXPECT_EQ((*table)->match("100", "x", "10.1.2.3")->name, "vip");
  EXPECT_EQ((*table)->match("100", "x", "127.0.0.1")->name, "other");
  EXPECT_EQ((*table)->match("200", "x", "10.1.2.3")->name, "other");
  EXPECT_NE((*table)->document(*(*table)->match("200", "x", "10.1.2.3")), nullptr);
  EXPECT_TRUE((*table)->admits("127.0.0.1"));
  EXPECT_FALSE((*table)->admits("192.168.1.1"));
}

TEST(RouteTable, ABadDocumentIsNamedByRouteAndLocated) {
  std::string bad = write("rt_bad.yaml", "version: 1.0.0\nsections:\n  main:\n    - answr\n");
  Config c = parse("rt2.yaml", "routes: [{name: sales, swml: " + bad + "}]\n");
  std::vector<Error> errors;
  auto table = RouteTable::build(c, &errors);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.error().message.rfind("sales: ", 0), 0u) << table.error().message;
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].pos.line, 4);
  EXPECT_EQ(errors[0].code, ErrorCode::method_undefined);
}

TEST(RouteTable, ABadSourceNetworkNamesItsKey) {
  std::string doc = write("rt_doc2.yaml", kDoc);
  Config c = parse("rt3.yaml", "routes: [{swml: " + doc + ", match: {source: ['10.0.0.0/99']}}]\n");
  auto table = RouteTable::build(c);
  ASSERT_FALSE(table.ok());
  EXPECT_NE(table.error().message.find("config key 'routes[0].match.source'"), std::string::npos)
      << table.error().message;
}

TEST(CheckConfig, AGoodFileExitsZero) {
  std::string doc = write("cc_doc.yaml", kDoc);
  std::string cfg = write("cc_good.yaml", "routes: [{swml: " + doc + "}]\nlimits: {max_calls: 5}\n");
  std::ostringstream out, err;
  EXPECT_EQ(check_config(cfg, out, err, false), 0) << err.str();
  EXPECT_EQ(out.str(), cfg + ": ok (1 route(s), 1 document(s))\n");
  EXPECT_EQ(err.str(), "");
}

TEST(CheckConfig, ABadValueExitsOneNamingTheKey) {
  std::string doc = write("cc_doc2.yaml", kDoc);
  std::string cfg = write("cc_bad.yaml", "routes: [{swml: " + doc + "}]\nlimits: {max_calls: 0}\n");
  std::ostringstream out, err;
  EXPECT_EQ(check_config(cfg, out, err, true), 1);
  EXPECT_EQ(err.str(), cfg + ": relay_script_element_invalid_value: config key 'limits.max_calls': "
                             "must be at least 1\n");
}

TEST(CheckConfig, AnUnknownKeyIsLocated) {
  std::string cfg = write("cc_unknown.yaml", "routes: [{swml: a.yaml}]\nlimits:\n  max_call: 5\n");
  std::ostringstream out, err;
  EXPECT_EQ(check_config(cfg, out, err, true), 1);
  EXPECT_NE(err.str().find(cfg + ":3:3: "), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("config key 'limits.max_call': unknown key"), std::string::npos) << err.str();
}

TEST(CheckConfig, RouteDocumentErrorsAreReportedAsCheckDoes) {
  std::string bad = write("cc_baddoc.yaml", "version: 1.0.0\nsections:\n  main:\n    - answr\n");
  std::string cfg = write("cc_routes.yaml", "routes: [{swml: " + bad + "}]\n");
  std::ostringstream out, err;
  EXPECT_EQ(check_config(cfg, out, err, true), 1);
  EXPECT_EQ(err.str().rfind(bad + ":4:7: relay_script_method_undefined", 0), 0u) << err.str();
}

}  // namespace
}  // namespace swmld::app
