// connect against far ends whose timing the test controls: dialling orders, the first
// answer winning, cancels, confirm, the variables, callbacks and what the caller hears.
#include <algorithm>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace swmld::engine {
namespace {

using namespace std::chrono_literals;

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
std::size_t pos(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<std::size_t>(std::find(v.begin(), v.end(), s) - v.begin());
}

TEST(Connect, SerialFirstBusySecondAnswersThenCalleeHangsUpAndTheDocumentGoesOn) {
  Harness h;
  h.dialer->on_dial = [&](fakes::FakeOutboundLeg& leg) {
    leg.ringing();
    if (leg.to == "sip:a@x") leg.reject(486);
    else leg.answer();
  };
  h.start(R"(
version: 1.0.0
sections:
  main:
    - connect:
        serial: [{to: "sip:a@x"}, {to: "sip:b@x", headers: [{name: X-A, value: "1"}]}]
        from: "+15550001"
        status_url: "http://cb.test/connect"
    - play: "say:${connect_result}"
)");
  h.run_for(200ms);
  ASSERT_EQ(h.dialer->legs.size(), 2u);
  EXPECT_EQ(h.dialer->requests[0].from, "+15550001");
  ASSERT_EQ(h.dialer->requests[1].headers.size(), 1u);
  EXPECT_EQ(h.dialer->requests[1].headers[0].first, "X-A");
  const auto& a = h.rec.actions;
  EXPECT_LT(pos(a, "answer"), pos(a, "dial sip:a@x"));  // the caller is answered first
  EXPECT_LT(pos(a, "dial sip:a@x"), pos(a, "dial sip:b@x"));
  EXPECT_TRUE(has(a, "play ring:us"));  // ringback while it rings
  EXPECT_TRUE(has(a, "bridge"));
  EXPECT_FALSE(h.outcome.has_value());  // bridged
  h.dialer->legs[1]->hang_up();
  h.run_for(200ms);
  ASSERT_TRUE(h.outcome.has_value());
  EXPECT_EQ(h.outcome->vars["connect_result"], "connected");
  EXPECT_EQ(h.outcome->vars["return_value"], "connected");
  EXPECT_TRUE(has(a, "unbridge"));
  EXPECT_TRUE(has(a, "play say:connected"));  // the document went on after the bridge
  std::vector<std::string> states;
  for (const auto& [url, body] : h.poster->posts) {
    EXPECT_EQ(body["event_type"], "calling.call.connect");
    states.push_back(body["params"]["connect_state"]);
  }
  EXPECT_EQ(states, (std::vector<std::string>{"connecting", "connected", "disconnected"}));
}

TEST(Connect, ParallelFirstAnswerWinsAndTheOthersAreCancelled) {
  Harness h;
  h.dialer->on_dial = [](fakes::FakeOutboundLeg& leg) { leg.ringing(); };
  h.start(R"(
version: 1.0.0
sections:
  main:
    - connect: {parallel: [{to: "sip:a@x"}, {to: "sip:b@x"}, {to: "sip:c@x"}]}
)");
  h.run_for(100ms);
  ASSERT_EQ(h.dialer->legs.size(), 3u);
  h.dialer->legs[1]->answer();
  h.run_for(100ms);
  const auto& a = h.rec.actions;
  EXPECT_TRUE(has(a, "cancel sip:a@x"));
  EXPECT_TRUE(has(a, "cancel sip:c@x"));
  EXPECT_FALSE(has(a, "cancel sip:b@x"));
  EXPECT_TRUE(has(a, "bridge"));
  // The caller hangs up: the bridged callee gets a BYE.
  h.call->events->post(call::Ended{call::EndCause::remote_hangup, 0, {}});
  h.run_for(100ms);
  ASSERT_TRUE(h.outcome.has_value());
  EXPECT_EQ(h.outcome->end_reason, "remote_hangup");
  EXPECT_TRUE(has(a, "bye sip:b@x"));
}

TEST(Connect, CallerHangsUpWhileRingingCancelsEveryLeg) {
  Harness h;
  h.dialer->on_dial = [](fakes::FakeOutboundLeg& leg) { leg.ringing(); };
  h.start(R"(
version: 1.0.0
sections:
  main:
    - connect: {parallel: [{to: "sip:a@x"}, {to: "sip:b@x"}]}
    - play: "say:not reached"
)");
  h.run_for(100ms);
  h.call->events->post(call::Ended{call::EndCause::remote_hangup, 0, {}});
  h.run_for(100ms);
  ASSERT_TRUE(h.outcome.has_value());
  EXPECT_TRUE(has(h.rec.actions, "cancel sip:a@x"));
  EXPECT_TRUE(has(h.rec.actions, "cancel sip:b@x"));
  EXPECT_FALSE(has(h.rec.actions, "play say:not reached"));
}

TEST(Connect, AllFailGivesTheLastReasonAndRunsResult) {
  Harness h;
  h.dialer->deny = {"+900123"};
  h.dialer->on_dial = [](fakes::FakeOutboundLeg& leg) { leg.reject(603); };
  h.start(R"(
version: 1.0.0
sections:
  main:
    - connect:
        serial: [{to: "sip:a@x"}, {to: "+900123"}]
        result:
          case:
            failed: [{play: "say:failed ${connect_failed_reason}"}]
)");
  h.run_for(200ms);
  ASSERT_TRUE(h.outcome.has_value());
  EXPECT_EQ(h.outcome->vars["connect_result"], "failed");
  EXPECT_EQ(h.outcome->vars["connect_failed_reason"], "denied");
  EXPECT_TRUE(has(h.rec.actions, "play say:failed denied"));
}

TEST(Connect, BusyMapsToBusyAndTimeoutToNoAnswer) {
  {
    Harness h;
    h.dialer->on_dial = [](fakes::FakeOutboundLeg& leg) { leg.reject(486); };
    h.start("version: 1.0.0\nsections:\n  main:\n    - connect: {to: \"sip:a@x\"}\n");
    h.run_for(100ms);
    ASSERT_TRUE(h.outcome.has_value());
    EXPECT_EQ(h.outcome->vars["connect_failed_reason"], "busy");
  }
  {
    Harness h;
    h.config.time_scale = 0.01;  // timeout 60 s -> 600 ms
    h.dialer->on_dial = [](fakes::FakeOutboundLeg& leg) { leg.ringing(); };
    h.start("version: 1.0.0\nsections:\n  main:\n    - connect: {to: \"sip:a@x\"}\n");
    h.run_for(2s);
    ASSERT_TRUE(h.outcome.has_value());
    EXPECT_EQ(h.outcome->vars["connect_failed_reason"], "no_answer");
    EXPECT_TRUE(has(h.rec.actions, "cancel sip:a@x"));
  }
}

TEST(Connect, AnswerOnBridgeAnswersTheCallerOnlyWhenTheCalleeAnswers) {
  Harness h;
  h.dialer->on_dial = [](fakes::FakeOutboundLeg& leg) { leg.ringing(); };
  h.start(R"(
version: 1.0.0
sections:
  main:
    - connect: {to: "sip:a@x", answer_on_bridge: true}
)");
  h.run_for(100ms);
  EXPECT_FALSE(has(h.rec.actions, "answer"));
  EXPECT_FALSE(has(h.rec.actions, "play ring:us"));  // 180: the caller's phone rings itself
  h.dialer->legs[0]->answer();
  h.run_for(100ms);
  const auto& a = h.rec.actions;
  ASSERT_TRUE(has(a, "answer"));
  EXPECT_LT(pos(a, "answer"), pos(a, "bridge"));
}

TEST(Connect, ConfirmHangupMovesOnToTheNextDestination) {
  Harness h;
  h.dialer->on_dial = [](fakes::FakeOutboundLeg& leg) { leg.answer(); };
  h.start(R"(
version: 1.0.0
sections:
  main:
    - connect:
        serial:
          - to: "sip:a@x"
            confirm: [{play: "say:press one"}, {hangup: {}}]
          - to: "sip:b@x"
)");
  h.run_for(200ms);
  const auto& a = h.rec.actions;
  ASSERT_TRUE(has(a, "play say:press one"));
  EXPECT_TRUE(has(a, "bye sip:a@x"));  // the confirm's hangup ended the callee's leg only
  EXPECT_TRUE(has(a, "dial sip:b@x"));
  EXPECT_TRUE(has(a, "bridge"));
  EXPECT_FALSE(h.outcome.has_value());  // the caller is bridged to b
}

TEST(Connect, AConnectLevelConfirmRunsForEveryDestinationOfEveryMode) {
  Harness h;
  h.dialer->on_dial = [](fakes::FakeOutboundLeg& leg) { leg.answer(); };
  h.start(R"(
version: 1.0.0
sections:
  main:
    - connect:
        serial_parallel: [[{to: "sip:a@x"}], [{to: "sip:b@x"}, {to: "sip:c@x"}]]
        confirm: [{play: "say:whisper"}]
)");
  h.run_for(200ms);
  const auto& a = h.rec.actions;
  EXPECT_TRUE(has(a, "play say:whisper")) << testing::PrintToString(a);
  EXPECT_TRUE(has(a, "bridge"));
  EXPECT_FALSE(h.outcome.has_value());  // bridged to a after the whisper
}

}  // namespace
}  // namespace swmld::engine
