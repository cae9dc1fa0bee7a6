// sip_refer against a far end whose timing the test controls: the orderings and races a
// simulated call cannot show (design.md §6).
#include <algorithm>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include "harness.hpp"

namespace swmld::engine {
namespace {

using fakes::FakeCall;

const char* kDoc = R"(
version: 1.0.0
sections:
  main:
    - sip_refer: {to_uri: "sip:alice@example.com", status_url: "http://cb.test/refer"}
    - play: "say:after ${sip_refer_result}"
)";

// Which to_uri values are REFERred and which end at once with result "error".
TEST(SipRefer, ToUriMustBeASipSipsOrTelUri) {
  struct Case {
    const char* uri;
    bool sent;
  };
  const Case cases[] = {
      {"sip:alice@example.com", true},
      {"SIP:alice@example.com:5070;transport=tcp", true},
      {"sips:[2001:db8::1]:5061", true},
      {"sip:example.com", true},
      {"sip:bob@10.0.0.1?X-Foo=bar", true},
      {"sip:a;b@host", true},  // user part with ';' (an escaped-free user)
      {"tel:+1-555-0100", true},
      {"TEL:*98#;phone-context=example.com", true},
      {"tel:(555)0100", false},  // the number must start with a digit, *, # or A-D
      {"tel:+", false},
      {"tel:", false},
      {"sip:", false},
      {"sip:@host", false},
      {"sip:alice@", false},
      {"sip:alice@exa mple.com", false},
      {"<sip:alice@example.com>", false},
      {"sip:alice@example.com>", false},
      {"sip:alice@ex_ample.com", false},
      {"mailto:alice@example.com", false},
      {"alice@example.com", false},
      {"", false},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.uri);
    Harness h;
    std::string doc = std::string(R"(
version: 1.0.0
sections:
  main:
    - sip_refer: {to_uri: ")") + tc.uri + R"("}
)";
    h.start(doc.c_str(), [](FakeCall& c) {
      c.on_refer = [&c](const call::ReferRequest&) {
        c.events->post(call::ReferResponse{202});
        c.events->post(call::ReferNotify{200, true});
      };
    });
    h.run_for(std::chrono::seconds(5));
    ASSERT_TRUE(h.outcome);
    bool sent = std::find(h.rec.actions.begin(), h.rec.actions.end(),
                          std::string("refer ") + tc.uri) != h.rec.actions.end();
    EXPECT_EQ(sent, tc.sent);
    EXPECT_EQ(h.outcome->vars["sip_refer_result"], tc.sent ? "success" : "error");
  }
}

TEST(SipRefer, NotifyBeforeTheAcceptedResponseStillSucceeds) {
  Harness h;
  h.start(kDoc, [](FakeCall& c) {
    c.on_refer = [&c](const call::ReferRequest&) {
      c.events->post(call::ReferNotify{200, true});  // the NOTIFY overtakes the 202
      c.events->post(call::ReferResponse{202});
    };
  });
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.outcome->vars["sip_refer_result"], "success");
  EXPECT_EQ(h.outcome->vars["sip_refer_response_code"], "202");
  EXPECT_EQ(h.outcome->vars["sip_refer_to_response_code"], "200");
  EXPECT_EQ(h.rec.actions, (std::vector<std::string>{"ring", "answer", "refer sip:alice@example.com",
                                                     "play say:after success", "bye"}));
}

TEST(SipRefer, FarEndHangingUpDuringTheWaitEndsTheCallWithFailed) {
  Harness h;
  h.start(kDoc, [](FakeCall& c) {
    c.on_refer = [&c](const call::ReferRequest&) {
      c.events->post(call::ReferResponse{202});
      c.events->post(call::ReferNotify{100, false});
      c.events->post(call::Ended{call::EndCause::remote_hangup, 0});
    };
  });
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.outcome->end_reason, "remote_hangup");
  EXPECT_EQ(h.outcome->vars["sip_refer_result"], "failed");
  EXPECT_EQ(h.outcome->vars["sip_refer_to_response_code"], "");
  // No play after the hangup, and no BYE of ours either.
  EXPECT_EQ(h.rec.actions.back(), "refer sip:alice@example.com");
  EXPECT_EQ(h.states(), (std::vector<std::string>{"accepted", "progress", "failed"}));
}

TEST(SipRefer, FinalNotifyThenByeKeepsTheSuccess) {
  Harness h;
  h.start(kDoc, [](FakeCall& c) {
    c.on_refer = [&c](const call::ReferRequest&) {
      c.events->post(call::ReferResponse{202});
      c.events->post(call::ReferNotify{200, true});
      c.events->post(call::Ended{call::EndCause::remote_hangup, 0});
    };
  });
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.outcome->vars["sip_refer_result"], "success");
  EXPECT_EQ(h.outcome->end_reason, "remote_hangup");
}

TEST(SipRefer, NoFinalNotifyTimesOutAfterTheConfiguredTime) {
  Harness h;
  h.config.refer_notify_timeout = std::chrono::milliseconds(200);
  h.start(kDoc, [](FakeCall& c) {
    c.on_refer = [&c](const call::ReferRequest&) { c.events->post(call::ReferResponse{202}); };
  });
  auto t0 = std::chrono::steady_clock::now();
  h.run_for(std::chrono::seconds(5));
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.outcome->vars["sip_refer_result"], "timeout");
  EXPECT_GE(took, std::chrono::milliseconds(200));
  EXPECT_LT(took, std::chrono::milliseconds(2000));
  EXPECT_EQ(h.states(), (std::vector<std::string>{"accepted", "timeout"}));
}

// A far end flooding its subscription: a repeated status is one state change (one progress
// callback), provisional statuses stop counting after 16, and the final one still decides.
TEST(SipRefer, RepeatedNotifiesAreOneProgressEachAndTheFinalOneDecides) {
  Harness h;
  h.start(kDoc, [](FakeCall& c) {
    c.on_refer = [&c](const call::ReferRequest&) {
      c.events->post(call::ReferResponse{202});
      for (int i = 0; i < 500; ++i) c.events->post(call::ReferNotify{180, false});
      c.events->post(call::ReferNotify{183, false});
      for (int i = 0; i < 100; ++i) c.events->post(call::ReferNotify{i % 2 ? 180 : 181, false});
      c.events->post(call::ReferNotify{486, true});
      c.events->post(call::ReferNotify{200, true});  // after the final one: ignored
    };
  });
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.outcome->vars["sip_refer_result"], "failed");
  EXPECT_EQ(h.outcome->vars["sip_refer_to_response_code"], "486");
  // accepted, 180, 183, then 14 alternations (16 provisional in all), then the result.
  auto states = h.states();
  ASSERT_EQ(states.size(), 1u + 16u + 1u);
  EXPECT_EQ(std::count(states.begin(), states.end(), "progress"), 16);
  EXPECT_EQ(states.back(), "failed");
}

TEST(SipRefer, LateEventsAfterTheCallEndedAreIgnored) {
  Harness h;
  std::shared_ptr<call::Events> events;
  h.start(kDoc, [&events](FakeCall& c) {
    c.on_refer = [&c, &events](const call::ReferRequest&) {
      events = c.events;
      c.events->post(call::ReferResponse{603});
    };
  });
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.outcome->vars["sip_refer_result"], "failed");
  auto actions = h.rec.actions;
  h.run.reset();
  h.io.restart();
  events->post(call::ReferNotify{200, true});
  events->post(call::Ended{call::EndCause::remote_hangup, 0});
  h.io.run_for(std::chrono::milliseconds(50));
  // The call is gone: nothing reaches it (under ASan, touching it would be reported).
  EXPECT_EQ(h.rec.actions, actions);
  EXPECT_EQ(h.outcome->vars["sip_refer_result"], "failed");
}

TEST(SipRefer, CallbackBodyMatchesTheReference) {
  Harness h;
  h.start(kDoc, [](FakeCall& c) {
    c.on_refer = [&c](const call::ReferRequest&) {
      c.events->post(call::ReferResponse{202});
      c.events->post(call::ReferNotify{200, true});
    };
  });
  h.run_for(std::chrono::seconds(5));
  ASSERT_EQ(h.poster->posts.size(), 2u);
  EXPECT_EQ(h.poster->posts[1].first, "http://cb.test/refer");
  Value expected = Value::parse(R"({"event_type":"calling.call.refer","event_channel":"swml:c-1",
    "timestamp":1.5,"project_id":"","space_id":"",
    "params":{"call_id":"c-1","node_id":"node-1","sip_refer_to":"sip:alice@example.com",
              "state":"success","sip_refer_response_code":"202","sip_notify_response_code":"200"}})");
  EXPECT_EQ(h.poster->posts[1].second, expected);
}

TEST(Play, HangupDuringPlaybackStopsTheMediaAndEndsTheCall) {
  Harness h;
  h.start(R"(
- play: "say:a long story"
- play: "say:never")");
  h.media->finish_at_once = false;
  boost::asio::steady_timer t(h.io, std::chrono::milliseconds(20));
  t.async_wait([&](auto) { h.call->events->post(call::Ended{call::EndCause::remote_hangup, 0}); });
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.outcome->end_reason, "remote_hangup");
  EXPECT_EQ(h.rec.actions,
            (std::vector<std::string>{"ring", "answer", "play say:a long story", "stop"}));
}

}  // namespace
}  // namespace swmld::engine
