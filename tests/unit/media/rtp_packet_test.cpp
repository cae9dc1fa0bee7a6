// RTP header parsing, RFC 4733 events (a real SIPp capture among them), the DTMF receiver and
// send plan, and the RTCP sender report's exact bytes.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "media/rtp/packet.hpp"

namespace swmld::media::rtp {
namespace {

using Bytes = std::vector<std::uint8_t>;

// The RTP packets (UDP payloads) of /usr/share/sip-tester/dtmf_2833_1.pcap, which SIPp plays
// for the digit 1: payload type 101, one timestamp (0x33e0), the marker on the first packet,
// durations 0, 320, ... 1920, then the end packet (E bit, 2240) three times, all three with
// the same sequence number. From `tshark -r dtmf_2833_1.pcap -T fields -e udp.payload`.
const std::array<Bytes, 10> kSippDigitOne = {{
    {0x80, 0xe5, 0x1f, 0x30, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x0a, 0x00,
     0x00},
    {0x80, 0x65, 0x1f, 0x31, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x0a, 0x01,
     0x40},
    {0x80, 0x65, 0x1f, 0x32, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x0a, 0x02,
     0x80},
    {0x80, 0x65, 0x1f, 0x33, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x0a, 0x03,
     0xc0},
    {0x80, 0x65, 0x1f, 0x34, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x0a, 0x05,
     0x00},
    {0x80, 0x65, 0x1f, 0x35, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x0a, 0x06,
     0x40},
    {0x80, 0x65, 0x1f, 0x36, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x0a, 0x07,
     0x80},
    {0x80, 0x65, 0x1f, 0x37, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x8a, 0x08,
     0xc0},
    {0x80, 0x65, 0x1f, 0x37, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x8a, 0x08,
     0xc0},
    {0x80, 0x65, 0x1f, 0x37, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x8a, 0x08,
     0xc0},
}};

std::optional<Packet> parse_bytes(const Bytes& b) {
  return parse(std::span(b.data(), b.size()));
}

Bytes payload_of(const Packet& p) {
  return Bytes(p.payload.begin(), p.payload.end());
}

// A 12-byte header (version 2, no flags) with the first byte's low bits set to `flags`.
Bytes header_with(std::uint8_t flags) {
  Bytes b(kHeaderSize);
  write_header({false, 0, 1, 2, 3}, b.data());
  b[0] |= flags;
  return b;
}

// ---- RTP header ------------------------------------------------------------------------------

TEST(RtpHeader, WritesTheTwelveBytesOfAKnownHeader) {
  std::array<std::uint8_t, kHeaderSize> out{};
  EXPECT_EQ(write_header({true, 101, 0x1f30, 0x33e0, 0x0e05384e}, out.data()), kHeaderSize);
  EXPECT_EQ(Bytes(out.begin(), out.end()),
            Bytes(kSippDigitOne[0].begin(), kSippDigitOne[0].begin() + kHeaderSize));

  write_header({false, 0, 0xffff, 0xfffffffe, 0x80000001}, out.data());
  EXPECT_EQ(Bytes(out.begin(), out.end()),
            (Bytes{0x80, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x01}));
}

TEST(RtpHeader, ParseReadsBackWhatWriteHeaderWrote) {
  Bytes b(kHeaderSize);
  write_header({true, 8, 54321, 0xdeadbeef, 0x01020304}, b.data());
  b.insert(b.end(), {0xd5, 0xd5, 0x55});
  auto p = parse_bytes(b);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->header.marker);
  EXPECT_EQ(p->header.payload_type, 8);
  EXPECT_EQ(p->header.seq, 54321);
  EXPECT_EQ(p->header.timestamp, 0xdeadbeefu);
  EXPECT_EQ(p->header.ssrc, 0x01020304u);
  EXPECT_EQ(payload_of(*p), (Bytes{0xd5, 0xd5, 0x55}));
  EXPECT_EQ(p->payload.data(), b.data() + kHeaderSize);  // a view into the buffer, no copy
}

TEST(RtpHeader, ParseAcceptsAnEmptyPayload) {
  auto p = parse_bytes(header_with(0));
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->payload.empty());
}

TEST(RtpHeader, ParseSkipsTheCsrcList) {
  Bytes b = header_with(0x02);  // CC = 2
  b.insert(b.end(), {1, 1, 1, 1, 2, 2, 2, 2, 0xaa, 0xbb});
  auto p = parse_bytes(b);
  ASSERT_TRUE(p);
  EXPECT_EQ(payload_of(*p), (Bytes{0xaa, 0xbb}));
  EXPECT_EQ(p->header.ssrc, 3u);
}

TEST(RtpHeader, ParseSkipsTheHeaderExtensionByItsLengthInWords) {
  Bytes b = header_with(0x10);  // X
  b.insert(b.end(), {0xbe, 0xde, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7, 8, 0xaa});
  auto p = parse_bytes(b);
  ASSERT_TRUE(p);
  EXPECT_EQ(payload_of(*p), (Bytes{0xaa}));

  Bytes empty_ext = header_with(0x10);
  empty_ext.insert(empty_ext.end(), {0x10, 0x00, 0x00, 0x00, 0xcc});
  p = parse_bytes(empty_ext);
  ASSERT_TRUE(p);
  EXPECT_EQ(payload_of(*p), (Bytes{0xcc}));
}

TEST(RtpHeader, ParseRemovesThePaddingItsLastOctetCounts) {
  Bytes b = header_with(0x20);  // P
  b.insert(b.end(), {0xaa, 0xbb, 0x00, 0x00, 0x03});
  auto p = parse_bytes(b);
  ASSERT_TRUE(p);
  EXPECT_EQ(payload_of(*p), (Bytes{0xaa, 0xbb}));

  Bytes all_padding = header_with(0x20);
  all_padding.insert(all_padding.end(), {0x00, 0x02});
  p = parse_bytes(all_padding);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->payload.empty());
}

TEST(RtpHeader, ParseSkipsCsrcsAndExtensionAndRemovesPaddingTogether) {
  Bytes b = header_with(0x20 | 0x10 | 0x01);
  b.insert(b.end(), {9, 9, 9,    9,    0x00, 0x00, 0x00, 0x01, 7,    7,
                     7, 7, 0x01, 0x8a, 0x08, 0xc0, 0x00, 0x00, 0x00, 0x04});
  auto p = parse_bytes(b);
  ASSERT_TRUE(p);
  EXPECT_EQ(payload_of(*p), (Bytes{0x01, 0x8a, 0x08, 0xc0}));
}

TEST(RtpHeader, ParseRejectsBadPadding) {
  Bytes zero = header_with(0x20);
  zero.insert(zero.end(), {0xaa, 0x00});  // a count of 0 cannot count itself
  EXPECT_FALSE(parse_bytes(zero));

  Bytes too_long = header_with(0x20);
  too_long.insert(too_long.end(), {0xaa, 0x03});  // 3 octets of padding in a 2-octet payload
  EXPECT_FALSE(parse_bytes(too_long));

  Bytes into_csrc = header_with(0x20 | 0x01);
  into_csrc.insert(into_csrc.end(), {1, 1, 1, 1, 0x00, 0x02});
  EXPECT_TRUE(parse_bytes(into_csrc));
  into_csrc.back() = 0x03;  // would eat into the CSRC list
  EXPECT_FALSE(parse_bytes(into_csrc));

  EXPECT_FALSE(parse_bytes(header_with(0x20)));  // padding flag, no octet to count it
}

TEST(RtpHeader, ParseRejectsRtcpPacketTypes) {
  for (int second = 200; second <= 204; ++second) {  // SR, RR, SDES, BYE, APP
    Bytes b = header_with(0);
    b[1] = static_cast<std::uint8_t>(second);
    b.insert(b.end(), {0, 0, 0, 0});
    EXPECT_FALSE(parse_bytes(b)) << second;
    b[1] &= 0x7f;  // payload types 72-76 without the marker are no RTP either
    EXPECT_FALSE(parse_bytes(b)) << second;
  }
  for (int second : {0xc7, 0xcd, 0x47, 0x4d}) {  // 71 and 77, with and without the marker
    Bytes b = header_with(0);
    b[1] = static_cast<std::uint8_t>(second);
    EXPECT_TRUE(parse_bytes(b)) << second;
  }
}

TEST(RtpHeader, ParseRejectsVersionsOtherThanTwo) {
  for (std::uint8_t first : {0x00, 0x40, 0xc0}) {
    Bytes b = header_with(0);
    b[0] = first;
    EXPECT_FALSE(parse_bytes(b)) << int{first};
  }
}

TEST(RtpHeader, ParseRejectsShortPackets) {
  Bytes full = header_with(0);
  for (std::size_t n = 0; n < kHeaderSize; ++n) EXPECT_FALSE(parse(std::span(full.data(), n))) << n;

  Bytes csrc = header_with(0x02);
  csrc.insert(csrc.end(), {1, 1, 1, 1, 2, 2, 2});  // 7 of the 8 CSRC octets
  EXPECT_FALSE(parse_bytes(csrc));

  Bytes ext_header = header_with(0x10);
  ext_header.insert(ext_header.end(), {0xbe, 0xde, 0x00});  // 3 of the 4 extension octets
  EXPECT_FALSE(parse_bytes(ext_header));

  Bytes ext_body = header_with(0x10);
  ext_body.insert(ext_body.end(), {0xbe, 0xde, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7});  // 7 of 8
  EXPECT_FALSE(parse_bytes(ext_body));
}

// ---- telephone-event -------------------------------------------------------------------------

TEST(TelephoneEventPayload, WritesTheFourBytesOfAKnownEvent) {
  std::array<std::uint8_t, kEventSize> out{};
  write_event({1, true, 10, 2240}, out.data());
  EXPECT_EQ(out, (std::array<std::uint8_t, 4>{0x01, 0x8a, 0x08, 0xc0}));
  write_event({11, false, 63, 0xfffe}, out.data());
  EXPECT_EQ(out, (std::array<std::uint8_t, 4>{0x0b, 0x3f, 0xff, 0xfe}));
  write_event({15, false, 0xff, 160}, out.data());  // the volume keeps its 6 bits only
  EXPECT_EQ(out, (std::array<std::uint8_t, 4>{0x0f, 0x3f, 0x00, 0xa0}));
}

TEST(TelephoneEventPayload, ParsesEventEndBitVolumeAndDurationIgnoringTheReservedBit) {
  auto e = parse_event(std::span(kSippDigitOne[7]).subspan(kHeaderSize));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->event, 1);
  EXPECT_TRUE(e->end);
  EXPECT_EQ(e->volume, 10);
  EXPECT_EQ(e->duration, 2240);

  const std::uint8_t reserved[] = {0x0a, 0x7f, 0x01, 0x02};  // R set, volume 63, no E
  e = parse_event(reserved);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->event, 10);
  EXPECT_FALSE(e->end);
  EXPECT_EQ(e->volume, 63);
  EXPECT_EQ(e->duration, 0x0102);
}

TEST(TelephoneEventPayload, ParseRejectsPayloadsShorterThanFourBytes) {
  const std::uint8_t b[] = {0x01, 0x8a, 0x08};
  EXPECT_FALSE(parse_event(std::span(b, 0)));
  EXPECT_FALSE(parse_event(b));
}

TEST(TelephoneEventPayload, MapsKeysToEventCodesAndBack) {
  const std::string keys = "0123456789*#ABCD";
  for (int code = 0; code < 16; ++code) {
    EXPECT_EQ(event_code(keys[code]), code) << keys[code];
    EXPECT_EQ(event_digit(code), keys[code]);
  }
  EXPECT_EQ(event_code('a'), 12);
  EXPECT_EQ(event_code('b'), 13);
  EXPECT_EQ(event_code('c'), 14);
  EXPECT_EQ(event_code('d'), 15);
  for (char c : std::string("eEwW/:@ x\0", 10)) EXPECT_EQ(event_code(c), -1) << int{c};
  for (int code : {-1, 16, 255, 1000}) EXPECT_EQ(event_digit(code), '\0') << code;
}

// ---- DtmfReceiver ----------------------------------------------------------------------------

TelephoneEvent key(std::uint8_t code, bool end = false, std::uint16_t duration = 160) {
  return {code, end, 10, duration};
}

TEST(DtmfReceiver, ReportsTheSippCaptureOfDigitOneOnce) {
  DtmfReceiver r;
  std::string keys;
  for (const Bytes& datagram : kSippDigitOne) {
    auto p = parse_bytes(datagram);
    ASSERT_TRUE(p);
    ASSERT_EQ(p->header.payload_type, 101);
    auto e = parse_event(p->payload);
    ASSERT_TRUE(e);
    if (auto digit = r.on_packet(p->header.timestamp, *e)) keys += *digit;
  }
  EXPECT_EQ(keys, "1");
}

TEST(DtmfReceiver, CountsRetransmittedEndPacketsOnce) {
  DtmfReceiver r;
  EXPECT_EQ(r.on_packet(1000, key(5)), '5');
  EXPECT_FALSE(r.on_packet(1000, key(5, false, 320)));
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(r.on_packet(1000, key(5, true, 800))) << i;
}

TEST(DtmfReceiver, ReportsTheSameKeyTwiceWhenItsTimestampsDiffer) {
  DtmfReceiver r;
  EXPECT_EQ(r.on_packet(1000, key(7)), '7');
  EXPECT_FALSE(r.on_packet(1000, key(7, true, 800)));
  EXPECT_EQ(r.on_packet(3000, key(7)), '7');
  EXPECT_FALSE(r.on_packet(3000, key(7, true, 800)));
}

TEST(DtmfReceiver, ReportsAnEventWhoseFirstPacketsWereLost) {
  DtmfReceiver r;
  EXPECT_EQ(r.on_packet(1000, key(3, false, 480)), '3');  // an update, no marker seen
  DtmfReceiver only_ends;
  EXPECT_EQ(only_ends.on_packet(5000, key(11, true, 800)), '#');
  EXPECT_FALSE(only_ends.on_packet(5000, key(11, true, 800)));
}

TEST(DtmfReceiver, IgnoresALatePacketOfAnOlderEvent) {
  DtmfReceiver r;
  EXPECT_EQ(r.on_packet(1000, key(1)), '1');
  EXPECT_EQ(r.on_packet(3000, key(2)), '2');
  EXPECT_FALSE(r.on_packet(1000, key(1, true, 800)));  // reordered end of the first key
  EXPECT_FALSE(r.on_packet(2000, key(9)));             // never seen, but older than '2'
  EXPECT_FALSE(r.on_packet(3000, key(2, true, 800)));
}

TEST(DtmfReceiver, ANewCodeAtTheSameTimestampIsANewKey) {
  DtmfReceiver r;
  EXPECT_EQ(r.on_packet(1000, key(4)), '4');
  EXPECT_EQ(r.on_packet(1000, key(6)), '6');
  EXPECT_FALSE(r.on_packet(1000, key(4, true, 800)));  // the first code's end, still once
  EXPECT_FALSE(r.on_packet(1000, key(6, true, 800)));
}

TEST(DtmfReceiver, TimestampsThatWrapPast32BitsAreNewer) {
  DtmfReceiver r;
  EXPECT_EQ(r.on_packet(0xffffff00u, key(1)), '1');
  EXPECT_EQ(r.on_packet(0x00000040u, key(2)), '2');           // 0x140 later, across the wrap
  EXPECT_FALSE(r.on_packet(0xffffff00u, key(1, true, 800)));  // now the older one
  EXPECT_EQ(r.on_packet(0x7fffff00u, key(3)), '3');           // just under half the space ahead
  EXPECT_FALSE(r.on_packet(0x00000040u, key(2)));             // just under half the space behind
}

TEST(DtmfReceiver, IgnoresEventCodesThatAreNotKeys) {
  DtmfReceiver r;
  for (std::uint8_t code : {16, 32, 66, 255}) EXPECT_FALSE(r.on_packet(1000, key(code))) << code;
  EXPECT_EQ(r.on_packet(1000, key(0)), '0');
  EXPECT_FALSE(r.on_packet(2000, key(16)));  // and they leave the last event alone:
  EXPECT_FALSE(r.on_packet(1000, key(0, true, 800)));
  EXPECT_EQ(r.on_packet(1500, key(8)), '8');
}

// ---- what is not RTP, and the rate of keys ---------------------------------------------------

TEST(NotRtp, RtcpOnAMuxedPortAndStunAreToldFromGarbage) {
  // An RTCP receiver report (packet type 201) and a sender report (200) with no blocks.
  EXPECT_EQ(classify(Bytes{0x80, 201, 0, 1, 0, 0, 0x12, 0x34}), NotRtp::rtcp);
  EXPECT_EQ(classify(Bytes{0x81, 200, 0, 6, 1, 2, 3, 4, 5, 6, 7, 8}), NotRtp::rtcp);
  // A STUN binding request: type 0x0001, length 0, the magic cookie, a transaction id.
  Bytes stun{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
  stun.resize(20, 0x5A);
  EXPECT_EQ(classify(stun), NotRtp::stun);
  stun[5] = 0x13;  // no cookie: not STUN
  EXPECT_EQ(classify(stun), NotRtp::garbage);
  EXPECT_EQ(classify(Bytes{}), NotRtp::garbage);
  EXPECT_EQ(classify(Bytes{0x80, 0x00, 0x01}), NotRtp::garbage);             // RTP, too short
  EXPECT_EQ(classify(Bytes(40, 0x45)), NotRtp::garbage);                     // version 1
  EXPECT_EQ(classify(Bytes{0x80, 190, 0, 1, 0, 0, 0, 0}), NotRtp::garbage);  // not an RTCP type
}

TEST(KeyRate, PassesABurstThenTwentyFiveASecond) {
  using namespace std::chrono_literals;
  KeyRate rate;
  KeyRate::Clock::time_point t{1s};
  int passed = 0;
  for (int i = 0; i < 1000; ++i) passed += rate.take(t);  // 1,000 keys at one instant
  EXPECT_EQ(passed, 16);
  passed = 0;
  for (int i = 0; i < 1000; ++i) passed += rate.take(t += 1ms);  // 1,000 a second for 1 s
  EXPECT_EQ(passed, 25);
  // Keys as a person sends them (one every 80 ms: 40 ms of tone, 40 ms of pause) all pass.
  t += 10s;
  passed = 0;
  for (int i = 0; i < 200; ++i) passed += rate.take(t += 80ms);
  EXPECT_EQ(passed, 200);
}

// ---- plan_digits -----------------------------------------------------------------------------

// "+1/160" is a new event, "1/320" an update, "1/800E" an end packet, "." a pause.
std::string describe(const DtmfStep& s) {
  if (s.kind == DtmfStep::Kind::pause) return ".";
  return std::string(s.new_event ? "+" : "") + event_digit(s.event.event) + "/" +
         std::to_string(s.event.duration) + (s.event.end ? "E" : "");
}

std::vector<std::string> describe(const std::vector<DtmfStep>& steps) {
  std::vector<std::string> out;
  for (const auto& s : steps) out.push_back(describe(s));
  return out;
}

std::size_t count_pauses_from(const std::vector<DtmfStep>& steps, std::size_t i) {
  std::size_t n = 0;
  while (i + n < steps.size() && steps[i + n].kind == DtmfStep::Kind::pause) ++n;
  return n;
}

TEST(DtmfPlan, OneKeyIsUpdatesThenThreeEndPacketsThenTheGap) {
  auto steps = plan_digits("1", {});  // 100 ms held, 100 ms gap, ptime 20
  EXPECT_EQ(describe(steps),
            (std::vector<std::string>{"+1/160", "1/320", "1/480", "1/640", "1/800", "1/800E",
                                      "1/800E", "1/800E", ".", ".", ".", ".", "."}));
  for (const auto& s : steps) {
    if (s.kind == DtmfStep::Kind::event) {
      EXPECT_EQ(s.event.volume, 10);
    }
  }
}

TEST(DtmfPlan, DurationsThatAreNotWholeIntervalsEndOnTheExactDuration) {
  EXPECT_EQ(describe(plan_digits("5", {110, 40, 20, 10})),
            (std::vector<std::string>{"+5/160", "5/320", "5/480", "5/640", "5/800", "5/880",
                                      "5/880E", "5/880E", "5/880E", ".", "."}));
  EXPECT_EQ(describe(plan_digits("#", {100, 100, 30, 10})),
            (std::vector<std::string>{"+#/240", "#/480", "#/720", "#/800", "#/800E", "#/800E",
                                      "#/800E", ".", ".", ".", "."}));
}

TEST(DtmfPlan, EveryKeyStartsANewEvent) {
  auto steps = plan_digits("11", {40, 20, 20, 10});
  EXPECT_EQ(describe(steps),
            (std::vector<std::string>{"+1/160", "1/320", "1/320E", "1/320E", "1/320E", ".",
                                      "+1/160", "1/320", "1/320E", "1/320E", "1/320E", "."}));
}

TEST(DtmfPlan, LowerWPausesHalfASecondAfterTheGap) {
  auto steps = plan_digits("1w2", {});
  ASSERT_EQ(steps.size(), 8u + 5u + 25u + 8u + 5u);
  EXPECT_EQ(describe(steps[7]), "1/800E");
  EXPECT_EQ(count_pauses_from(steps, 8), 5u + 25u);
  EXPECT_EQ(describe(steps[38]), "+2/160");
}

TEST(DtmfPlan, UpperWAloneIsFiftyPauses) {
  auto steps = plan_digits("W", {});
  ASSERT_EQ(steps.size(), 50u);
  EXPECT_EQ(count_pauses_from(steps, 0), 50u);
  EXPECT_EQ(plan_digits("W", {100, 100, 30, 10}).size(), 34u);  // 1000 / 30, rounded up
  EXPECT_EQ(plan_digits("w", {100, 100, 30, 10}).size(), 17u);
}

TEST(DtmfPlan, SkipsCharactersThatAreNotKeysOrPauses) {
  EXPECT_EQ(describe(plan_digits("1x-2 ,!", {})), describe(plan_digits("12", {})));
  EXPECT_TRUE(plan_digits("xyz", {}).empty());
  EXPECT_TRUE(plan_digits("", {}).empty());
}

TEST(DtmfPlan, LowerCaseLettersAreTheirKeys) {
  EXPECT_EQ(describe(plan_digits("abcd", {})), describe(plan_digits("ABCD", {})));
  EXPECT_EQ(plan_digits("d", {})[0].event.event, 15);
}

TEST(DtmfPlan, HonoursTheVolume) {
  int events = 0;
  for (const auto& s : plan_digits("1*", {100, 100, 20, 27})) {
    if (s.kind != DtmfStep::Kind::event) continue;
    EXPECT_EQ(s.event.volume, 27);
    ++events;
  }
  EXPECT_EQ(events, 16);
}

TEST(DtmfPlan, HoldsAtLeastOneIntervalAndAtMostTheDurationField) {
  EXPECT_EQ(describe(plan_digits("1", {0, 0, 20, 10})),
            (std::vector<std::string>{"+1/160", "1/160E", "1/160E", "1/160E"}));
  auto longest = plan_digits("1", {20000, 0, 20, 10});
  ASSERT_EQ(longest.size(), 410u + 3u);  // 8191 ms in 20 ms intervals, then the end packets
  EXPECT_EQ(describe(longest.back()), "1/65528E");
  EXPECT_EQ(describe(longest[409]), "1/65528");
  EXPECT_TRUE(plan_digits("1", {100, 100, 0, 10}).empty());
}

TEST(DtmfPlan, APlayedPlanIsReceivedAsTheSameKeys) {
  // A stream that sends one step per interval: its RTP clock moves 160 a step, a new event
  // takes the current clock as its timestamp, later packets of the event keep it.
  DtmfReceiver r;
  std::string received;
  std::uint32_t clock = 0xffff0000u;  // crosses the wrap on the way
  std::uint32_t event_timestamp = 0;
  for (const auto& s : plan_digits("1w2#11*D0", {80, 60, 20, 10})) {
    if (s.kind == DtmfStep::Kind::event) {
      if (s.new_event) event_timestamp = clock;
      if (auto d = r.on_packet(event_timestamp, s.event)) received += *d;
    }
    clock += 160;
  }
  EXPECT_EQ(received, "12#11*D0");
}

// ---- RTCP ------------------------------------------------------------------------------------

TEST(RtcpSenderReport, WritesSrAndSdesCnameBytes) {
  SenderInfo info{0x11223344, 0xaabbccdd01020304ull, 0x55667788, 1000, 160000};
  std::array<std::uint8_t, 300> out{};
  ASSERT_EQ(write_sender_report(info, "abc", out.data()), 44u);
  const Bytes expected = {
      0x80, 0xc8, 0x00, 0x06,  // V=2, RC=0, SR, 7 words
      0x11, 0x22, 0x33, 0x44,  // SSRC
      0xaa, 0xbb, 0xcc, 0xdd,  // NTP seconds
      0x01, 0x02, 0x03, 0x04,  // NTP fraction
      0x55, 0x66, 0x77, 0x88,  // RTP timestamp
      0x00, 0x00, 0x03, 0xe8,  // packets
      0x00, 0x02, 0x71, 0x00,  // octets
      0x81, 0xca, 0x00, 0x03,  // V=2, SC=1, SDES, 4 words
      0x11, 0x22, 0x33, 0x44,  // chunk SSRC
      0x01, 0x03, 'a',  'b',   // CNAME, 3 octets
      'c',  0x00, 0x00, 0x00,  // END and padding
  };
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 44), expected);
}

TEST(RtcpSenderReport, EndsTheCnameWithOneToFourZeroOctetsToAWordBoundary) {
  const std::size_t sizes[] = {40, 40, 44, 44, 44, 44, 48, 48, 48};
  for (std::size_t n = 0; n <= 8; ++n) {
    std::array<std::uint8_t, 300> out;
    out.fill(0xee);
    const std::string cname(n, 'x');
    const std::size_t size = write_sender_report({7, 0, 0, 0, 0}, cname, out.data());
    ASSERT_EQ(size, sizes[n]) << n;
    EXPECT_EQ(out[2] * 256 + out[3], 6) << n;
    EXPECT_EQ(out[28], 0x81);
    EXPECT_EQ(out[29], 202);
    EXPECT_EQ(static_cast<std::size_t>(out[30] * 256 + out[31] + 1) * 4, size - 28) << n;
    EXPECT_EQ(out[36], 1);
    EXPECT_EQ(out[37], n);
    EXPECT_EQ(std::string(out.begin() + 38, out.begin() + 38 + n), cname);
    const std::size_t zeros = size - 38 - n;
    EXPECT_GE(zeros, 1u) << n;
    EXPECT_LE(zeros, 4u) << n;
    for (std::size_t i = 38 + n; i < size; ++i) EXPECT_EQ(out[i], 0) << n << " at " << i;
    EXPECT_EQ(out[size], 0xee) << n;  // nothing written past the returned size
  }
}

TEST(RtcpSenderReport, CutsACnameLongerThan255Octets) {
  std::array<std::uint8_t, 300> out{};
  EXPECT_EQ(write_sender_report({}, std::string(255, 'y'), out.data()), 296u);
  EXPECT_EQ(write_sender_report({}, std::string(400, 'y'), out.data()), 296u);
  EXPECT_EQ(out[37], 255);
  EXPECT_EQ(out[38 + 254], 'y');
  EXPECT_EQ(out[38 + 255], 0);
}

TEST(NtpTime, ConvertsUnixNanosecondsToNtpSecondsAndFraction) {
  constexpr std::uint64_t kOffset = 2208988800ull;
  EXPECT_EQ(ntp_from_unix_ns(0), kOffset << 32);
  EXPECT_EQ(ntp_from_unix_ns(1'500'000'000), ((kOffset + 1) << 32) | 0x80000000u);
  EXPECT_EQ(ntp_from_unix_ns(1), (kOffset << 32) | 4u);  // 2^32 / 1e9 = 4.29
  EXPECT_EQ(ntp_from_unix_ns(999'999'999), (kOffset << 32) | 0xfffffffbu);
  // 2024-01-01T00:00:00.25Z
  EXPECT_EQ(ntp_from_unix_ns(1'704'067'200'250'000'000), (3913056000ull << 32) | 0x40000000u);
  EXPECT_EQ(ntp_from_unix_ns(-500'000'000), ((kOffset - 1) << 32) | 0x80000000u);
  // 2036-02-07T06:28:16Z starts NTP era 1: the seconds wrap to 0.
  EXPECT_EQ(ntp_from_unix_ns(2'085'978'496'000'000'000), 0u);
}

}  // namespace
}  // namespace swmld::media::rtp
