// REFER tracking decisions, sipfrag / dtmf body parsing and the credentials string.
#include <gtest/gtest.h>

#include "sip/refer_tracker.hpp"

namespace swmld::sip {
namespace {

TEST(Sipfrag, ParsesTheStatusLine) {
  EXPECT_EQ(parse_sipfrag_status("SIP/2.0 200 OK\r\n"), 200);
  EXPECT_EQ(parse_sipfrag_status("SIP/2.0 486 Busy Here"), 486);
  EXPECT_EQ(parse_sipfrag_status("  sip/2.0 100 Trying\r\nContent-Length: 0\r\n"), 100);
  EXPECT_EQ(parse_sipfrag_status("SIP/2.0 183"), 183);
}

TEST(Sipfrag, RejectsWhatIsNotAStatusLine) {
  EXPECT_EQ(parse_sipfrag_status(""), 0);
  EXPECT_EQ(parse_sipfrag_status("INVITE sip:a@b SIP/2.0"), 0);
  EXPECT_EQ(parse_sipfrag_status("SIP/2.0 2000 OK"), 0);
  EXPECT_EQ(parse_sipfrag_status("SIP/2.0 abc OK"), 0);
  EXPECT_EQ(parse_sipfrag_status("SIP/2.0 099 Low"), 0);
}

TEST(DtmfInfo, ParsesDtmfRelayAndPlainDtmf) {
  EXPECT_EQ(parse_dtmf_info("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"), '5');
  EXPECT_EQ(parse_dtmf_info("Application/DTMF-Relay", "signal= #\r\n"), '#');
  EXPECT_EQ(parse_dtmf_info("application/dtmf", "a"), 'A');
  EXPECT_FALSE(parse_dtmf_info("application/dtmf-relay", "Duration=160"));
  EXPECT_FALSE(parse_dtmf_info("text/plain", "5"));
  EXPECT_FALSE(parse_dtmf_info("application/dtmf-relay", "Signal=55"));
}

TEST(Credentials, QuotesTheRealmOnce) {
  EXPECT_EQ(digest_credentials("Digest", "\"swml.test\"", "bob", "p:w"), "Digest:\"swml.test\":bob:p:w");
  EXPECT_EQ(digest_credentials("Digest", "swml.test", "bob", "pw"), "Digest:\"swml.test\":bob:pw");
}

TEST(ReferTracker, ReportsTheFinalResponseOnly) {
  ReferTracker t;
  t.start({"sip:a@b", "", "", ""});
  EXPECT_EQ(t.on_response(100).step, ReferTracker::Step::ignore);
  auto d = t.on_response(202);
  EXPECT_EQ(d.step, ReferTracker::Step::report);
  EXPECT_EQ(d.code, 202);
  EXPECT_FALSE(t.waiting_response());
  EXPECT_EQ(t.on_response(202).step, ReferTracker::Step::ignore);  // nothing pending
}

TEST(ReferTracker, RetriesAChallengeOnceWithCredentials) {
  ReferTracker t;
  t.start({"sip:a@b", "", "user", "secret"});
  EXPECT_EQ(t.on_response(407).step, ReferTracker::Step::retry);
  EXPECT_TRUE(t.waiting_response());
  auto d = t.on_response(407);  // challenged again: report it
  EXPECT_EQ(d.step, ReferTracker::Step::report);
  EXPECT_EQ(d.code, 407);
}

TEST(ReferTracker, ReportsAChallengeWithoutCredentials) {
  ReferTracker t;
  t.start({"sip:a@b", "", "", ""});
  auto d = t.on_response(401);
  EXPECT_EQ(d.step, ReferTracker::Step::report);
  EXPECT_EQ(d.code, 401);
}

TEST(ReferTracker, ASecondReferStartsClean) {
  ReferTracker t;
  t.start({"sip:a@b", "", "u", "p"});
  EXPECT_EQ(t.on_response(401).step, ReferTracker::Step::retry);
  EXPECT_EQ(t.on_response(202).step, ReferTracker::Step::report);
  t.start({"sip:c@d", "", "u", "p"});
  EXPECT_EQ(t.on_response(401).step, ReferTracker::Step::retry);  // the retry budget is per REFER
}

TEST(ReferTracker, MatchesNotifiesOfTheCurrentReferOnly) {
  ReferTracker t;
  t.start({"sip:a@b", "", "", ""});
  t.set_event_id("3");
  EXPECT_TRUE(t.matches_notify("3"));
  EXPECT_TRUE(t.matches_notify(""));  // peers that omit the id
  EXPECT_FALSE(t.matches_notify("2"));
}

}  // namespace
}  // namespace swmld::sip

namespace swmld::sip {
namespace {

TEST(ReferTracker, TheReleaseResponseOfAnAbandonedChallengeIsNotTakenForTheNextRefer) {
  ReferTracker t;
  t.start({"sip:a@b", "", "", ""});
  EXPECT_EQ(t.on_response(401).step, ReferTracker::Step::report);
  t.expect_release_response();
  t.start({"sip:c@d", "", "", ""});  // a new REFER before Sofia's 904 arrives
  EXPECT_EQ(t.on_response(904).step, ReferTracker::Step::ignore);
  auto d = t.on_response(202);
  EXPECT_EQ(d.step, ReferTracker::Step::report);
  EXPECT_EQ(d.code, 202);
}

}  // namespace
}  // namespace swmld::sip
