// A call's leg as the interpreter keeps it: SDP offers answered through the media, keys from
// RFC 4733 and INFO, early media, answer without an RTP port, send_digits by INFO.
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "harness.hpp"

namespace swmld::engine {
namespace {

std::string doc(const char* steps) {
  return std::string("version: 1.0.0\nsections:\n  main:\n") + steps;
}

TEST(Leg, AReInviteOfferIsAnsweredWithTheMediasAnswer) {
  Harness h;
  std::string d = doc("    - answer\n    - sleep: 200\n");
  h.start(d.c_str());
  boost::asio::steady_timer t(h.io, std::chrono::milliseconds(50));
  t.async_wait([&](auto) {
    h.call->events->post(call::RemoteSdp{call::RemoteSdp::Kind::offer, "v=0 hold"});
  });
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.rec.actions, (std::vector<std::string>{"ring", "answer", "remote offer v=0 hold",
                                                     "answer_offer v=0 answer", "bye"}));
}

TEST(Leg, AnOfferTheMediaCannotTakeIsRefusedAndTheCallGoesOn) {
  Harness h;
  std::string d = doc("    - answer\n    - sleep: 200\n    - play: \"say:still here\"\n");
  h.start(d.c_str(), nullptr, [](FakeMedia& m) { m.reoffer_answer.clear(); });
  boost::asio::steady_timer t(h.io, std::chrono::milliseconds(50));
  t.async_wait([&](auto) {
    h.call->events->post(call::RemoteSdp{call::RemoteSdp::Kind::offer, "v=0 g729"});
  });
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.outcome->end_reason, "end_of_document");
  EXPECT_EQ(h.rec.actions,
            (std::vector<std::string>{"ring", "answer", "remote offer v=0 g729", "answer_offer 488",
                                      "play say:still here", "bye"}));
}

TEST(Leg, TheAnswerInTheAckGoesToTheMedia) {
  Harness h;
  std::string d = doc("    - answer\n");
  h.start(d.c_str(), [](FakeCall& c) {
    c.auto_answer = false;  // the ACK's answer arrives with Answered
  });
  boost::asio::post(h.io, [&] {
    h.call->events->post(call::RemoteSdp{call::RemoteSdp::Kind::answer, "v=0 late"});
    h.call->events->post(call::Answered{});
  });
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.rec.actions,
            (std::vector<std::string>{"ring", "answer", "remote answer v=0 late", "bye"}));
}

// Some phones send a key both as RFC 4733 and as SIP INFO: it counts once; the same key
// pressed again later counts again.
TEST(Leg, AKeyReportedByBothRfc4733AndInfoCountsOnce) {
  Harness h;
  std::string d = doc(
      "    - answer\n"
      "    - prompt: {play: \"silence:1\", max_digits: 3, digit_timeout: 1, initial_timeout: 2}\n"
      "    - play: \"say:${prompt_value}\"\n");
  h.start(d.c_str(), nullptr, [](FakeMedia& m) { m.finish_at_once = false; });
  boost::asio::steady_timer t1(h.io, std::chrono::milliseconds(30));
  t1.async_wait([&](auto) {
    h.call->events->post(call::Dtmf{'5', call::DtmfSource::rfc4733});
    h.call->events->post(call::Dtmf{'5', call::DtmfSource::sip_info});
  });
  boost::asio::steady_timer t2(h.io, std::chrono::milliseconds(400));
  t2.async_wait([&](auto) {
    h.call->events->post(call::Dtmf{'5', call::DtmfSource::sip_info});
    h.media->finish_at_once = true;
  });
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.outcome->vars["prompt_value"], "55");
  EXPECT_EQ(h.rec.actions.back(), "bye");
  EXPECT_NE(std::find(h.rec.actions.begin(), h.rec.actions.end(), "play say:55"),
            h.rec.actions.end());
}

TEST(Leg, PlayWithoutAutoAnswerIsEarlyMedia) {
  Harness h;
  std::string d = doc("    - play: {url: \"ring:1:us\", auto_answer: false}\n    - answer\n");
  h.start(d.c_str());
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.rec.actions,
            (std::vector<std::string>{"ring", "progress", "play ring:1:us", "answer", "bye"}));
}

TEST(Leg, AnswerWithoutAFreeRtpPortRefusesTheCallWith503) {
  Harness h;
  std::string d = doc("    - answer\n    - play: \"say:never\"\n");
  h.start(d.c_str(), nullptr, [](FakeMedia& m) { m.no_port = true; });
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.outcome->end_reason, "error");
  ASSERT_TRUE(h.outcome->error);
  EXPECT_NE(h.outcome->error->message.find("no free RTP port"), std::string::npos);
  EXPECT_EQ(h.rec.actions, (std::vector<std::string>{"ring", "reject 503"}));
}

TEST(Leg, SendDigitsUsesRfc4733WhenNegotiatedAndInfoOtherwise) {
  {
    Harness h;
    std::string d = doc("    - answer\n    - send_digits: \"1w2\"\n");
    h.start(d.c_str());
    h.run_for(std::chrono::seconds(5));
    ASSERT_TRUE(h.outcome);
    EXPECT_EQ(h.rec.actions, (std::vector<std::string>{"ring", "answer", "digits 1w2", "bye"}));
    EXPECT_EQ(h.outcome->vars["send_digits_result"], "success");
  }
  {
    Harness h;
    std::string d = doc("    - answer\n    - send_digits: \"1w#\"\n");
    h.start(d.c_str(), nullptr, [](FakeMedia& m) { m.telephone_event_negotiated = false; });
    auto started = std::chrono::steady_clock::now();
    h.run_for(std::chrono::seconds(5));
    auto took = std::chrono::steady_clock::now() - started;
    ASSERT_TRUE(h.outcome);
    EXPECT_EQ(h.rec.actions,
              (std::vector<std::string>{"ring", "answer", "info 1", "info #", "bye"}));
    EXPECT_GE(took, std::chrono::milliseconds(200 + 500 + 200));  // the 'w' is a real pause
  }
}

}  // namespace
}  // namespace swmld::engine
