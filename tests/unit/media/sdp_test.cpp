// SDP answer builder: codec choice, telephone-event mirroring, direction, ptime, 488 cases.
#include <gtest/gtest.h>

#include "media/sdp.hpp"

namespace swmld::media {
namespace {

std::string offer_text(const std::string& m_line, const std::string& attrs) {
  return "v=0\r\no=x 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" + m_line +
         "\r\n" + attrs;
}

MediaChoice choose(const std::string& text, std::vector<std::string> codecs = {"PCMU", "PCMA"}) {
  auto offer = parse_sdp(text);
  EXPECT_TRUE(offer);
  std::string reason;
  auto choice = choose_media(*offer, codecs, 20, &reason);
  EXPECT_TRUE(choice) << reason;
  return choice.value_or(MediaChoice{});
}

TEST(Sdp, PicksTheFirstOfferedCodecWeSupport) {
  auto c = choose(offer_text("m=audio 4000 RTP/AVP 18 8 0", ""));
  EXPECT_EQ(c.codec, "PCMA");
  EXPECT_EQ(c.payload_type, 8);
  EXPECT_EQ(c.remote_address, "192.0.2.1");
  EXPECT_EQ(c.remote_port, 4000);
}

TEST(Sdp, HonoursTheConfiguredCodecList) {
  auto c = choose(offer_text("m=audio 4000 RTP/AVP 0 8", ""), {"PCMA"});
  EXPECT_EQ(c.codec, "PCMA");
}

TEST(Sdp, MirrorsTheTelephoneEventPayloadType) {
  auto text = offer_text("m=audio 4000 RTP/AVP 0 96",
                         "a=rtpmap:0 PCMU/8000\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n");
  auto offer = parse_sdp(text);
  auto c = choose(text);
  EXPECT_EQ(c.te_payload_type, 96);
  std::string answer = render_answer(*offer, c, LocalMedia{"203.0.113.5", 20000, 7, 8});
  EXPECT_NE(answer.find("m=audio 20000 RTP/AVP 0 96\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find("a=rtpmap:96 telephone-event/8000\r\n"), std::string::npos);
  EXPECT_NE(answer.find("a=fmtp:96 0-15\r\n"), std::string::npos);
  EXPECT_NE(answer.find("c=IN IP4 203.0.113.5\r\n"), std::string::npos);
  EXPECT_NE(answer.find("o=swmld 7 8 IN IP4 203.0.113.5\r\n"), std::string::npos);
}

TEST(Sdp, NoTelephoneEventWhenNotOffered) {
  auto text = offer_text("m=audio 4000 RTP/AVP 0", "");
  auto c = choose(text);
  EXPECT_EQ(c.te_payload_type, -1);
  auto answer = render_answer(*parse_sdp(text), c, LocalMedia{"10.0.0.1", 20002, 1, 1});
  EXPECT_EQ(answer.find("telephone-event"), std::string::npos);
}

TEST(Sdp, AnswerDirectionMirrorsTheOffer) {
  EXPECT_EQ(choose(offer_text("m=audio 1 RTP/AVP 0", "a=sendonly\r\n")).direction, Direction::recvonly);
  EXPECT_EQ(choose(offer_text("m=audio 1 RTP/AVP 0", "a=recvonly\r\n")).direction, Direction::sendonly);
  EXPECT_EQ(choose(offer_text("m=audio 1 RTP/AVP 0", "a=inactive\r\n")).direction, Direction::inactive);
  EXPECT_EQ(choose(offer_text("m=audio 1 RTP/AVP 0", "")).direction, Direction::sendrecv);
}

TEST(Sdp, SessionLevelDirectionAppliesWhenTheMediaHasNone) {
  std::string text = "v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n"
                     "a=sendonly\r\nm=audio 5 RTP/AVP 0\r\n";
  EXPECT_EQ(choose(text).direction, Direction::recvonly);
}

TEST(Sdp, PtimeIsHonouredAndDefaulted) {
  EXPECT_EQ(choose(offer_text("m=audio 1 RTP/AVP 0", "a=ptime:30\r\n")).ptime, 30);
  EXPECT_EQ(choose(offer_text("m=audio 1 RTP/AVP 0", "")).ptime, 20);
  EXPECT_EQ(choose(offer_text("m=audio 1 RTP/AVP 0", "a=ptime:7\r\n")).ptime, 20);
}

TEST(Sdp, NoCommonCodecIsRefused) {
  auto offer = parse_sdp(offer_text("m=audio 4000 RTP/AVP 18 9", "a=rtpmap:18 G729/8000\r\n"));
  std::string reason;
  EXPECT_FALSE(choose_media(*offer, {"PCMU", "PCMA"}, 20, &reason));
  EXPECT_NE(reason.find("no common codec"), std::string::npos);
}

TEST(Sdp, SrtpOnlyOfferIsRefused) {
  auto offer = parse_sdp(offer_text("m=audio 4000 RTP/SAVP 0", ""));
  std::string reason;
  EXPECT_FALSE(choose_media(*offer, {"PCMU"}, 20, &reason));
}

TEST(Sdp, DynamicPayloadNamedPcmuIsAccepted) {
  auto c = choose(offer_text("m=audio 1 RTP/AVP 97", "a=rtpmap:97 PCMU/8000\r\n"));
  EXPECT_EQ(c.payload_type, 97);
  EXPECT_EQ(c.codec, "PCMU");
}

TEST(Sdp, OtherStreamsAreRejectedWithPortZero) {
  auto text = offer_text("m=video 5000 RTP/AVP 96", "a=rtpmap:96 H264/90000\r\nm=audio 4000 RTP/AVP 0\r\n");
  auto offer = parse_sdp(text);
  auto c = choose(text);
  EXPECT_EQ(c.media_index, 1u);
  auto answer = render_answer(*offer, c, LocalMedia{"10.0.0.1", 20000, 1, 1});
  auto video = answer.find("m=video 0 RTP/AVP 96\r\n");
  auto audio = answer.find("m=audio 20000 RTP/AVP 0\r\n");
  ASSERT_NE(video, std::string::npos) << answer;
  ASSERT_NE(audio, std::string::npos);
  EXPECT_LT(video, audio);
}

TEST(Sdp, GarbageIsNotAnOffer) {
  EXPECT_FALSE(parse_sdp("hello"));
  EXPECT_FALSE(parse_sdp("v=0\r\ns=-\r\n"));
}

TEST(Sdp, Ipv6AddressesUseIp6) {
  auto text = offer_text("m=audio 1 RTP/AVP 0", "");
  auto answer = render_answer(*parse_sdp(text), choose(text), LocalMedia{"::1", 20000, 1, 1});
  EXPECT_NE(answer.find("c=IN IP6 ::1\r\n"), std::string::npos);
}

// Found by fuzz_sdp: port 450000 reached the RTP stream as 450000 % 65536.
TEST(Sdp, PortsBeyond65535AreNotUsable) {
  auto offer = parse_sdp(offer_text("m=audio 450000 RTP/AVP 0", ""));
  ASSERT_TRUE(offer);
  std::string reason;
  EXPECT_FALSE(choose_media(*offer, {"PCMU"}, 20, &reason));
  EXPECT_EQ(reason, "no audio stream in the offer");
  auto c = choose(offer_text("m=audio 65536 RTP/AVP 0", "") + "m=audio 65535 RTP/AVP 0\r\n");
  EXPECT_EQ(c.media_index, 1u);
  EXPECT_EQ(c.remote_port, 65535);
}

// Payload types are 7 bits: 128 or -8 would have been sent as (uint8_t) 128 / 248.
TEST(Sdp, PayloadTypesOutside0To127AreIgnored) {
  auto c = choose(offer_text("m=audio 4000 RTP/AVP 128 -8 -0 8 200",
                             "a=rtpmap:128 PCMU/8000\r\na=rtpmap:-8 PCMU/8000\r\n"
                             "a=rtpmap:200 telephone-event/8000\r\n"));
  EXPECT_EQ(c.codec, "PCMA");  // "-0" is no payload type either
  EXPECT_EQ(c.payload_type, 8);
  EXPECT_EQ(c.te_payload_type, -1);
}

TEST(Sdp, LateOfferListsConfiguredCodecsAndTelephoneEvent) {
  auto offer = render_offer({"PCMA", "PCMU"}, 20, LocalMedia{"10.0.0.1", 20000, 1, 1});
  EXPECT_NE(offer.find("m=audio 20000 RTP/AVP 8 0 101\r\n"), std::string::npos) << offer;
  EXPECT_NE(offer.find("a=rtpmap:8 PCMA/8000\r\n"), std::string::npos);
  EXPECT_NE(offer.find("a=rtpmap:101 telephone-event/8000\r\n"), std::string::npos);
}

}  // namespace
}  // namespace swmld::media
