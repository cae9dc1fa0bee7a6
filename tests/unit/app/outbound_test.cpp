// The toll-fraud guard and the dialer of connect's legs: reading destinations, allow/deny
// rules and their defaults, rate limits, gateway mapping, From, and the outbound.* keys.
#include <gtest/gtest.h>

#include "config.hpp"
#include "fakes/fake_ports.hpp"
#include "outbound_dialer.hpp"
#include "outbound_policy.hpp"
#include "reload.hpp"
#include "temp_files.hpp"

namespace swmld::app {
namespace {

OutboundPolicy policy(OutboundConfig c) {
  auto p = OutboundPolicy::make(c);
  EXPECT_TRUE(p.ok()) << p.error().str();
  return p.ok() ? *p : OutboundPolicy{};
}

PolicyVerdict check(const OutboundPolicy& p, const std::string& to) {
  return p.check(read_destination(to, p.config().country));
}

OutboundConfig us() {
  OutboundConfig c;
  c.country = "+1";
  c.gateway_uri = "sip:gw.example.com:5080;transport=tcp";
  return c;
}

// ---- destinations --------------------------------------------------------------------------

TEST(OutboundDestination, NumbersUrisAndResourcesAreToldApart) {
  EXPECT_EQ(read_destination("+15551234567", "").kind, Destination::Kind::number);
  EXPECT_EQ(read_destination("+15551234567", "").e164, "+15551234567");
  EXPECT_EQ(read_destination(" tel:+4420123 ", "").number, "+4420123");
  Destination uri = read_destination("sip:Alice@PBX.Example.com:5060;transport=tcp", "");
  EXPECT_EQ(uri.kind, Destination::Kind::sip_uri);
  EXPECT_EQ(uri.host, "pbx.example.com");
  EXPECT_EQ(uri.number, "");
  EXPECT_EQ(read_destination("sips:+15550001@[::1]:5061", "").host, "::1");
  EXPECT_EQ(read_destination("sips:+15550001@[::1]:5061", "").e164, "+15550001");
  for (const char* unsupported : {"queue:support", "stream:wss://x", "/public/room1"}) {
    Destination d = read_destination(unsupported, "+1");
    EXPECT_EQ(d.kind, Destination::Kind::unsupported) << unsupported;
    EXPECT_NE(d.why.find("not supported"), std::string::npos) << d.why;
  }
  for (const char* invalid :
       {"", "alice", "+1-555-1234", "http://x", "sip:", "sip:a@b c", "sip:a@-.."})
    EXPECT_EQ(read_destination(invalid, "+1").kind, Destination::Kind::invalid) << invalid;
}

TEST(OutboundDestination, NumbersWithoutPlusAreReadWithTheCountry) {
  EXPECT_EQ(read_destination("5551234567", "+1").e164, "+15551234567");
  EXPECT_EQ(read_destination("15551234567", "+1").e164, "+15551234567");
  EXPECT_EQ(read_destination("011447700900123", "+1").e164, "+447700900123");
  EXPECT_EQ(read_destination("00447700900123", "+33").e164, "+447700900123");
  EXPECT_EQ(read_destination("0140203040", "+33").e164, "+33140203040");
  EXPECT_EQ(read_destination("5551234567", "").e164, "");  // unknown: cannot be checked
}

// ---- rules ---------------------------------------------------------------------------------

TEST(OutboundPolicy, DefaultPolicyAllowsSipUrisAndNationalNumbersOnly) {
  OutboundPolicy p = policy(us());
  EXPECT_TRUE(check(p, "+15551234567").allowed);
  EXPECT_TRUE(check(p, "5551234567").allowed);
  EXPECT_TRUE(check(p, "sip:agent@anywhere.example.org").allowed);
  PolicyVerdict intl = check(p, "+447700900123");
  EXPECT_FALSE(intl.allowed);
  EXPECT_EQ(intl.detail, "default policy: +447700900123 is not a number of outbound.country +1");
  EXPECT_FALSE(check(p, "011447700900123").allowed);  // international prefix, same number
}

TEST(OutboundPolicy, DefaultPolicyRefusesPremiumRateNumbersOfTheCountry) {
  OutboundPolicy p = policy(us());
  PolicyVerdict v = check(p, "+19005551234");
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.detail, "default deny rule '+1900' (premium rate for outbound.country +1)");
  EXPECT_FALSE(check(p, "19765551234").allowed);
  EXPECT_FALSE(check(p, "+18765551234").allowed);  // Jamaica: NANP, billed international
}

TEST(OutboundPolicy, WithoutCountryOrRulesNoNumberIsAllowed) {
  OutboundConfig c;
  OutboundPolicy p = policy(c);
  EXPECT_EQ(check(p, "+15551234567").detail,
            "default policy: numbers need outbound.country or outbound.allow rules");
  EXPECT_FALSE(check(p, "5551234567").allowed);
  EXPECT_TRUE(check(p, "sip:a@b.example.com").allowed);
}

TEST(OutboundPolicy, DenyWinsOverAllow) {
  OutboundConfig c = us();
  c.allow = std::vector<std::string>{"+1", "+44", "pbx.example.com"};
  c.deny = std::vector<std::string>{"+1900", "+4490"};
  OutboundPolicy p = policy(c);
  EXPECT_TRUE(check(p, "+447700900123").allowed);
  EXPECT_EQ(check(p, "+449012345").detail, "outbound.deny rule '+4490'");
  EXPECT_EQ(check(p, "+19005550000").detail, "outbound.deny rule '+1900'");
  EXPECT_TRUE(check(p, "sip:1000@pbx.example.com").allowed);
  EXPECT_EQ(check(p, "sip:1000@other.example.com").detail,
            "no outbound.allow rule matches other.example.com");
  EXPECT_EQ(check(p, "+33140203040").detail, "no outbound.allow rule matches +33140203040");
  // Written deny rules replace the default premium list: +1976 is allowed by "+1" now.
  EXPECT_TRUE(check(p, "+19765551234").allowed);
}

TEST(OutboundPolicy, WildcardDomainsMatchSubdomainsOnly) {
  OutboundConfig c;
  c.allow = std::vector<std::string>{"*.example.com"};
  c.deny = std::vector<std::string>{"bad.example.com"};
  OutboundPolicy p = policy(c);
  EXPECT_TRUE(check(p, "sip:a@pbx.example.com").allowed);
  EXPECT_TRUE(check(p, "sip:a@a.b.EXAMPLE.com").allowed);
  EXPECT_FALSE(check(p, "sip:a@example.com").allowed);
  EXPECT_FALSE(check(p, "sip:a@notexample.com").allowed);
  EXPECT_EQ(check(p, "sip:a@bad.example.com").detail, "outbound.deny rule 'bad.example.com'");
}

TEST(OutboundPolicy, ANumberAtTheGatewayHostIsCheckedAsANumber) {
  OutboundPolicy p = policy(us());
  EXPECT_FALSE(check(p, "sip:+447700900123@GW.example.com").allowed);
  EXPECT_TRUE(check(p, "sip:+15551234567@gw.example.com").allowed);
  EXPECT_TRUE(check(p, "sip:+447700900123@elsewhere.example.com").allowed);
}

TEST(OutboundPolicy, AnEmptyAllowListAllowsNothing) {
  OutboundConfig c = us();
  c.allow = std::vector<std::string>{};
  OutboundPolicy p = policy(c);
  EXPECT_FALSE(check(p, "+15551234567").allowed);
  EXPECT_FALSE(check(p, "sip:a@b.example.com").allowed);
}

TEST(OutboundPolicy, DescribeNamesThePolicyInForceWithoutSecrets) {
  OutboundConfig c = us();
  c.gateway_username = "trunk";
  c.gateway_password = "s3cret";
  c.deny = std::vector<std::string>{"+1900", "+1976"};
  EXPECT_EQ(policy(c).describe(),
            "gateway sip:gw.example.com:5080;transport=tcp (digest user trunk); allow numbers of "
            "+1, any SIP domain (default); deny +1900, +1976; 10 legs/call, 20 legs/s");
}

TEST(OutboundPolicy, BadRulesAndValuesAreErrorsNamingTheKey) {
  auto error_of = [](OutboundConfig c) {
    auto p = OutboundPolicy::make(c);
    return p.ok() ? std::string("ok") : p.error().message;
  };
  OutboundConfig c;
  c.allow = std::vector<std::string>{"+1", "+1-900"};
  EXPECT_EQ(error_of(c),
            "config key 'outbound.allow[1]': '+1-900' is not an E.164 prefix ('+' and "
            "digits, e.g. '+44')");
  c.allow = std::vector<std::string>{"sip:pbx.example.com"};
  EXPECT_NE(error_of(c).find("config key 'outbound.allow[0]'"), std::string::npos);
  c = {};
  c.deny = std::vector<std::string>{"*"};
  EXPECT_NE(error_of(c).find("config key 'outbound.deny[0]'"), std::string::npos);
  c = {};
  c.country = "1";
  EXPECT_NE(error_of(c).find("config key 'outbound.country'"), std::string::npos);
  c = {};
  c.gateway_uri = "gw.example.com";
  EXPECT_NE(error_of(c).find("config key 'outbound.gateway.uri'"), std::string::npos);
  c = {};
  c.gateway_password = "x";
  EXPECT_NE(error_of(c).find("config key 'outbound.gateway.uri': is required"), std::string::npos);
  c = {};
  c.max_legs_per_call = 0;
  EXPECT_NE(error_of(c).find("outbound.max_legs_per_call"), std::string::npos);
  c = {};
  c.max_legs_per_second = 0;
  EXPECT_NE(error_of(c).find("outbound.max_legs_per_second"), std::string::npos);
}

// ---- the dialer ----------------------------------------------------------------------------

struct Dialling {
  fakes::Recorder rec;
  std::vector<sip::OutboundCall> sent;
  std::chrono::steady_clock::time_point now{};
  Metrics metrics;
  std::shared_ptr<OutboundGuard> guard = std::make_shared<OutboundGuard>(
      [this](sip::OutboundCall call,
             std::shared_ptr<call::Events>) -> std::shared_ptr<call::CallControl> {
        sent.push_back(std::move(call));
        return std::make_shared<fakes::FakeCall>(rec);
      },
      &metrics, [this] { return now; });

  std::shared_ptr<OutboundDialer> dialer(OutboundConfig c,
                                         DialingCall call = {"+15550001111", "192.0.2.10"}) {
    return std::make_shared<OutboundDialer>(std::make_shared<const OutboundPolicy>(policy(c)),
                                            guard, std::move(call));
  }
  std::int64_t count(const char* result) {
    return metrics.series("swmld_outbound_legs_total", std::string("result=\"") + result + "\"")
        .load();
  }
};

call::DialRequest to(const std::string& destination) {
  call::DialRequest r;
  r.to = destination;
  r.local_sdp = "v=0";
  r.log_context = "call=test";
  return r;
}

TEST(OutboundDialer, NumbersGoThroughTheGatewayWithItsCredentialsAndFrom) {
  Dialling d;
  OutboundConfig c = us();
  c.gateway_username = "trunk";
  c.gateway_password = "pw";
  c.gateway_from = "+15550009999";
  call::Dialed r = d.dialer(c)->dial(to("+15551234567"), nullptr);
  ASSERT_TRUE(r.leg);
  EXPECT_EQ(r.refused, "");
  ASSERT_EQ(d.sent.size(), 1u);
  EXPECT_EQ(d.sent[0].request_uri, "sip:+15551234567@gw.example.com:5080");
  EXPECT_EQ(d.sent[0].proxy, "sip:gw.example.com:5080;transport=tcp");
  EXPECT_EQ(d.sent[0].from_uri, "sip:+15550009999@gw.example.com");
  EXPECT_EQ(d.sent[0].username, "trunk");
  EXPECT_EQ(d.sent[0].password, "pw");
  EXPECT_EQ(d.sent[0].sdp, "v=0");
  EXPECT_EQ(d.count("dialed"), 1);
}

TEST(OutboundDialer, SipUrisAreDialledDirectlyWithoutTheGatewayCredentials) {
  Dialling d;
  OutboundConfig c = us();
  c.gateway_username = "trunk";
  c.gateway_password = "pw";
  call::DialRequest r = to("sip:agent@pbx.example.org");
  r.from_name = "Support";
  r.headers = {{"X-Team", "blue"}};
  ASSERT_TRUE(d.dialer(c)->dial(r, nullptr).leg);
  ASSERT_EQ(d.sent.size(), 1u);
  EXPECT_EQ(d.sent[0].request_uri, "sip:agent@pbx.example.org");
  EXPECT_EQ(d.sent[0].proxy, "");
  EXPECT_EQ(d.sent[0].from_uri, "sip:+15550001111@192.0.2.10");  // the caller, at our address
  EXPECT_EQ(d.sent[0].from_display, "Support");
  EXPECT_EQ(d.sent[0].username, "");
  EXPECT_EQ(d.sent[0].headers,
            (std::vector<std::pair<std::string, std::string>>{{"X-Team", "blue"}}));
}

TEST(OutboundDialer, RedirectTargetsAreCheckedByTheSameRules) {
  Dialling d;
  OutboundConfig c = us();
  c.deny = std::vector<std::string>{"+1900", "evil.example.com"};
  ASSERT_TRUE(d.dialer(c)->dial(to("sip:agent@pbx.example.org"), nullptr).leg);
  ASSERT_EQ(d.sent.size(), 1u);
  ASSERT_TRUE(d.sent[0].allow_redirect);
  EXPECT_EQ(d.sent[0].allow_redirect("sip:agent2@pbx.example.org"), "");
  EXPECT_NE(d.sent[0].allow_redirect("sip:x@evil.example.com"), "");
  EXPECT_NE(d.sent[0].allow_redirect("sip:+19005550100@gw.example.com:5080"), "");
}

TEST(OutboundDialer, FromOfTheRequestWinsAndANumberBecomesAUri) {
  Dialling d;
  OutboundConfig c = us();
  c.gateway_from = "+15550009999";
  auto dialer = d.dialer(c, {"+15550001111", "2001:db8::1"});
  call::DialRequest r = to("+15551234567");
  r.from = "+15552223333";
  ASSERT_TRUE(dialer->dial(r, nullptr).leg);
  EXPECT_EQ(d.sent.back().from_uri, "sip:+15552223333@gw.example.com");
  r = to("sip:a@pbx.example.org");
  r.from = "+15552223333";
  ASSERT_TRUE(dialer->dial(r, nullptr).leg);
  EXPECT_EQ(d.sent.back().from_uri, "sip:+15552223333@[2001:db8::1]");
  r.from = "sip:support@example.org";
  ASSERT_TRUE(dialer->dial(r, nullptr).leg);
  EXPECT_EQ(d.sent.back().from_uri, "sip:support@example.org");
  r.from = "not a number";
  EXPECT_EQ(dialer->dial(r, nullptr).refused, "invalid");
  // Without gateway.from, gateway calls carry the caller's number.
  ASSERT_TRUE(d.dialer(us())->dial(to("+15551234567"), nullptr).leg);
  EXPECT_EQ(d.sent.back().from_uri, "sip:+15550001111@gw.example.com");
}

TEST(OutboundDialer, RefusalsSayWhyAndAreCounted) {
  Dialling d;
  auto dialer = d.dialer(us());
  call::Dialed r = dialer->dial(to("+19005551234"), nullptr);
  EXPECT_FALSE(r.leg);
  EXPECT_EQ(r.refused, "denied");
  EXPECT_EQ(r.detail, "default deny rule '+1900' (premium rate for outbound.country +1)");
  r = dialer->dial(to("queue:sales"), nullptr);
  EXPECT_EQ(r.refused, "unsupported");
  EXPECT_EQ(r.detail, "queue destinations are not supported by swmld (SignalWire resources)");
  EXPECT_EQ(dialer->dial(to("/public/lobby"), nullptr).refused, "unsupported");
  EXPECT_EQ(dialer->dial(to("bob"), nullptr).refused, "invalid");
  EXPECT_TRUE(d.sent.empty());
  EXPECT_EQ(dialer->legs(), 0);  // refusals are no legs
  EXPECT_EQ(d.count("denied"), 1);
  EXPECT_EQ(d.count("unsupported"), 2);
  EXPECT_EQ(d.count("invalid"), 1);
}

TEST(OutboundDialer, NumbersWithoutAGatewayAreUnsupported) {
  Dialling d;
  OutboundConfig c;
  c.country = "+1";
  call::Dialed r = d.dialer(c)->dial(to("+15551234567"), nullptr);
  EXPECT_EQ(r.refused, "unsupported");
  EXPECT_EQ(r.detail, "phone numbers need outbound.gateway.uri (no gateway is configured)");
}

TEST(OutboundDialer, LegsPerCallAreLimited) {
  Dialling d;
  OutboundConfig c = us();
  c.max_legs_per_call = 2;
  auto dialer = d.dialer(c);
  EXPECT_TRUE(dialer->dial(to("sip:a@x.example.com"), nullptr).leg);
  EXPECT_TRUE(dialer->dial(to("sip:b@x.example.com"), nullptr).leg);
  call::Dialed r = dialer->dial(to("sip:c@x.example.com"), nullptr);
  EXPECT_EQ(r.refused, "rate_limited");
  EXPECT_EQ(r.detail, "outbound.max_legs_per_call (2) reached for this call");
  // Another call has its own count.
  EXPECT_TRUE(d.dialer(c)->dial(to("sip:c@x.example.com"), nullptr).leg);
  EXPECT_EQ(d.count("rate_limited"), 1);
}

TEST(OutboundDialer, LegsPerSecondAreLimitedNodeWide) {
  Dialling d;
  OutboundConfig c = us();
  c.max_legs_per_second = 3;
  int dialled = 0;
  for (int i = 0; i < 5; ++i)  // five calls at the same instant: a burst of three
    dialled += d.dialer(c)->dial(to("sip:a@x.example.com"), nullptr).leg ? 1 : 0;
  EXPECT_EQ(dialled, 3);
  call::Dialed r = d.dialer(c)->dial(to("sip:a@x.example.com"), nullptr);
  EXPECT_EQ(r.refused, "rate_limited");
  EXPECT_EQ(r.detail, "over outbound.max_legs_per_second (3/s)");
  d.now += std::chrono::milliseconds(340);  // one token back (3/s)
  EXPECT_TRUE(d.dialer(c)->dial(to("sip:a@x.example.com"), nullptr).leg);
  EXPECT_FALSE(d.dialer(c)->dial(to("sip:a@x.example.com"), nullptr).leg);
  d.now += std::chrono::seconds(10);  // refills to the burst size, not beyond
  dialled = 0;
  for (int i = 0; i < 5; ++i)
    dialled += d.dialer(c)->dial(to("sip:a@x.example.com"), nullptr).leg ? 1 : 0;
  EXPECT_EQ(dialled, 3);
}

TEST(OutboundDialer, AStackThatGivesNoLegIsAnError) {
  Metrics metrics;
  auto guard = std::make_shared<OutboundGuard>(nullptr, &metrics);
  OutboundDialer dialer(std::make_shared<const OutboundPolicy>(policy(us())), guard, {});
  call::Dialed r = dialer.dial(to("sip:a@x.example.com"), nullptr);
  EXPECT_EQ(r.refused, "error");
  EXPECT_EQ(metrics.series("swmld_outbound_legs_total", "result=\"error\"").load(), 1);
}

// ---- configuration -------------------------------------------------------------------------

Result<Config> load(const std::string& name, const std::string& text) {
  auto c = load_config(testing_files::write(name, text));
  if (c.ok())
    if (auto s = validate(*c); !s) return s.error();
  return c;
}

TEST(OutboundConfig, KeysAreRead) {
  auto c = load("ob1.yaml", R"(
routes: [{swml: a.yaml}]
outbound:
  gateway: {uri: "sip:gw.example.com", username: trunk, password: pw, from: "+15550009999"}
  allow: ["+1", "*.example.com"]
  deny: "+1900"
  country: "+1"
  max_legs_per_call: 4
  max_legs_per_second: 2.5
)");
  ASSERT_TRUE(c.ok()) << c.error().str();
  EXPECT_EQ(c->outbound.gateway_uri, "sip:gw.example.com");
  EXPECT_EQ(c->outbound.gateway_username, "trunk");
  EXPECT_EQ(c->outbound.gateway_password, "pw");
  EXPECT_EQ(c->outbound.gateway_from, "+15550009999");
  EXPECT_EQ(c->outbound.allow, (std::vector<std::string>{"+1", "*.example.com"}));
  EXPECT_EQ(c->outbound.deny, (std::vector<std::string>{"+1900"}));
  EXPECT_EQ(c->outbound.country, "+1");
  EXPECT_EQ(c->outbound.max_legs_per_call, 4);
  EXPECT_DOUBLE_EQ(c->outbound.max_legs_per_second, 2.5);
}

TEST(OutboundConfig, DefaultsAreTheDefaultPolicy) {
  auto c = load("ob2.yaml", "routes: [{swml: a.yaml}]\n");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->outbound.allow.has_value());
  EXPECT_FALSE(c->outbound.deny.has_value());
  EXPECT_EQ(c->outbound.country, "");
  EXPECT_EQ(c->outbound.max_legs_per_call, 10);
  EXPECT_DOUBLE_EQ(c->outbound.max_legs_per_second, 20);
}

TEST(OutboundConfig, ValidationErrorsNameTheKey) {
  auto c = load("ob3.yaml", "routes: [{swml: a.yaml}]\noutbound: {allow: ['+1', 'bad rule']}\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("'outbound.allow[1]'"), std::string::npos) << c.error().str();
  c = load("ob4.yaml", "routes: [{swml: a.yaml}]\noutbound: {gateway: {url: x}}\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("'outbound.gateway.url': unknown key"), std::string::npos);
}

TEST(OutboundConfig, TheGatewayPasswordComesFromTheEnvironment) {
  setenv("SWMLD_OUTBOUND_GATEWAY_PASSWORD", "from-env", 1);
  auto c = load("ob5.yaml",
                "routes: [{swml: a.yaml}]\noutbound: {gateway: {uri: 'sip:gw', password: file}}\n");
  unsetenv("SWMLD_OUTBOUND_GATEWAY_PASSWORD");
  ASSERT_TRUE(c.ok()) << c.error().str();
  EXPECT_EQ(c->outbound.gateway_password, "from-env");
}

TEST(OutboundConfig, AReloadTakesTheRulesAndTellsGivenFromNotGiven) {
  auto a = load("ob6.yaml", "routes: [{swml: a.yaml}]\noutbound: {country: '+1'}\n");
  auto b = load("ob7.yaml", "routes: [{swml: a.yaml}]\noutbound: {country: '+1', deny: []}\n");
  ASSERT_TRUE(a.ok() && b.ok());
  ReloadPlan plan = plan_reload(*a, *b);
  EXPECT_EQ(plan.changed, std::vector<std::string>{"outbound.deny"});  // [] is not "not given"
  EXPECT_TRUE(plan.needs_restart.empty());
  ASSERT_TRUE(plan.config.outbound.deny.has_value());
  EXPECT_TRUE(plan.config.outbound.deny->empty());
}

// ---- routes[].auth -------------------------------------------------------------------------

TEST(RouteAuthConfig, UsersAreReadWithPasswordsFromTheFileOrTheEnvironment) {
  setenv("SWMLD_TEST_TRUNK_PASSWORD", "env-secret", 1);
  auto c = load("ra1.yaml", R"(
routes:
  - swml: a.yaml
    auth:
      realm: swmld
      users:
        - {username: alice, password: secret}
        - {username: trunk, password_env: SWMLD_TEST_TRUNK_PASSWORD}
)");
  unsetenv("SWMLD_TEST_TRUNK_PASSWORD");
  ASSERT_TRUE(c.ok()) << c.error().str();
  const RouteAuth& a = c->routes[0].auth;
  EXPECT_EQ(a.realm, "swmld");
  ASSERT_EQ(a.users.size(), 2u);
  EXPECT_EQ(a.users[0].password, "secret");
  EXPECT_EQ(a.users[1].username, "trunk");
  EXPECT_EQ(a.users[1].password, "env-secret");
}

TEST(RouteAuthConfig, MistakesAreErrorsNamingTheKey) {
  auto message = [](const std::string& name, const std::string& auth) {
    auto c = load(name, "routes:\n  - swml: a.yaml\n    auth: " + auth + "\n");
    return c.ok() ? std::string("ok") : c.error().message;
  };
  EXPECT_EQ(message("ra2.yaml", "{realm: r}"),
            "config key 'routes[0].auth.users': needs at least one {username, password}");
  EXPECT_EQ(message("ra3.yaml", "{users: [{username: a, password: b}]}"),
            "config key 'routes[0].auth.realm': is required (the realm of the challenge)");
  EXPECT_EQ(message("ra4.yaml", "{realm: r, users: [{username: a}]}"),
            "config key 'routes[0].auth.users[0]': needs password or password_env (one of them)");
  EXPECT_EQ(
      message("ra5.yaml", "{realm: r, users: [{username: a, pass: b}]}"),
      "config key 'routes[0].auth.users[0].pass': unknown key (username, password, password_env)");
  EXPECT_EQ(message("ra6.yaml",
                    "{realm: r, users: [{username: a, password: b}, {username: a, password: c}]}"),
            "config key 'routes[0].auth.users[1].username': 'a' is given twice");
  EXPECT_EQ(
      message("ra7.yaml", "{realm: r, users: [{username: a, password_env: SWMLD_TEST_UNSET_VAR}]}"),
      "config key 'routes[0].auth.users[0].password_env': the environment variable "
      "'SWMLD_TEST_UNSET_VAR' is not set");
}

}  // namespace
}  // namespace swmld::app
