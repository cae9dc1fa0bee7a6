// RelayTimeline without sockets: how relayed packets become the sending stream's frames
// (timestamps mapped, transcoded, re-packetised, gaps, late packets, telephone-events).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

// clang-format off
#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>
// clang-format on

#include "media/relay.hpp"

namespace swmld::media {
namespace {

struct Sent {
  bool event, marker;
  std::uint32_t timestamp;
  std::vector<std::uint8_t> payload;
};

class Sink final : public RelaySink {
 public:
  std::uint32_t start = 50000;
  std::vector<Sent> sent;
  std::uint32_t relay_start() override { return start; }
  void send_relayed(const Frame& f) override {
    sent.push_back({f.event, f.marker, f.timestamp, {f.payload.begin(), f.payload.end()}});
  }
};

RelayPacket audio(std::uint32_t ts, std::size_t samples, std::uint8_t first = 0,
                  Law law = Law::ulaw, std::uint32_t ssrc = 7) {
  RelayPacket p;
  p.law = law;
  p.size = static_cast<std::uint16_t>(samples);
  p.timestamp = ts;
  p.ssrc = ssrc;
  for (std::size_t i = 0; i < samples; ++i) p.payload[i] = static_cast<std::uint8_t>(first + i);
  return p;
}

const RelayTimeline::Target kPcmu20{Law::ulaw, 20, true};

TEST(RelayTimeline, SamePtimeAndLawGoesThroughWithTheOffsetOfTheFirstPacket) {
  RelayTimeline t;
  Sink sink;
  for (std::uint32_t i = 0; i < 3; ++i) t.push(audio(1000 + 160 * i, 160, 3), kPcmu20, sink);
  ASSERT_EQ(sink.sent.size(), 3u);
  const auto in = audio(0, 160, 3);
  const std::vector<std::uint8_t> payload(in.payload.begin(), in.payload.begin() + 160);
  for (std::uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(sink.sent[i].timestamp, 50000 + 160 * i);
    EXPECT_EQ(sink.sent[i].marker, i == 0);
    EXPECT_EQ(sink.sent[i].payload, payload);
  }
}

TEST(RelayTimeline, PcmuIsTranscodedToPcmaCodeByCode) {
  RelayTimeline t;
  Sink sink;
  t.push(audio(0, 160, 0), {Law::alaw, 20, false}, sink);
  ASSERT_EQ(sink.sent.size(), 1u);
  for (std::size_t i = 0; i < 160; ++i)
    EXPECT_EQ(sink.sent[0].payload[i], ulaw_to_alaw(static_cast<std::uint8_t>(i)));
}

TEST(RelayTimeline, TwentyMsPacketsBecomeThirtyMsFramesWithContiguousTimestamps) {
  RelayTimeline t;
  Sink sink;
  std::vector<std::uint8_t> in;
  for (std::uint32_t i = 0; i < 6; ++i) {
    auto p = audio(160 * i, 160, static_cast<std::uint8_t>(i * 16));
    in.insert(in.end(), p.payload.begin(), p.payload.begin() + 160);
    t.push(p, {Law::ulaw, 30, false}, sink);
  }
  ASSERT_EQ(sink.sent.size(), 4u);  // 960 samples: four frames of 240, nothing left waiting
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(sink.sent[i].payload.size(), 240u);
    EXPECT_EQ(sink.sent[i].timestamp, 50000 + 240 * i);
    EXPECT_EQ(sink.sent[i].marker, i == 0);
    out.insert(out.end(), sink.sent[i].payload.begin(), sink.sent[i].payload.end());
  }
  EXPECT_EQ(out, in);
}

TEST(RelayTimeline, ALostPacketInsideAFrameBecomesSilence) {
  RelayTimeline t;
  Sink sink;
  const RelayTimeline::Target pcmu30{Law::ulaw, 30, false};
  t.push(audio(0, 160, 1), pcmu30, sink);    // 160 wait
  t.push(audio(320, 160, 1), pcmu30, sink);  // 160..320 lost
  ASSERT_EQ(sink.sent.size(), 2u);
  EXPECT_EQ(sink.sent[0].timestamp, 50000u);
  EXPECT_EQ(sink.sent[1].timestamp, 50240u);
  EXPECT_EQ(sink.sent[0].payload[159], 160);   // the last sample received
  EXPECT_EQ(sink.sent[0].payload[160], 0xFF);  // then silence
  EXPECT_EQ(sink.sent[1].payload[79], 0xFF);
  EXPECT_EQ(sink.sent[1].payload[80], 1);  // the next packet's first sample
}

TEST(RelayTimeline, ALatePacketIsDroppedAndAGapShowsInTheTimestamps) {
  RelayTimeline t;
  Sink sink;
  t.push(audio(0, 160), kPcmu20, sink);
  t.push(audio(480, 160), kPcmu20, sink);  // 160 and 320 lost
  t.push(audio(160, 160), kPcmu20, sink);  // late
  ASSERT_EQ(sink.sent.size(), 2u);
  EXPECT_EQ(sink.sent[1].timestamp, 50480u);
  EXPECT_FALSE(sink.sent[1].marker);
  EXPECT_EQ(t.late(), 1u);
}

TEST(RelayTimeline, ANewSourceOrARestartIsANewTalkspurtMappedOnTheSinksClock) {
  RelayTimeline t;
  Sink sink;
  t.push(audio(0, 160), kPcmu20, sink);
  sink.start = 90000;
  t.push(audio(777, 160, 0, Law::ulaw, 8), kPcmu20, sink);  // another SSRC
  t.restart();                                              // the sink played something
  sink.start = 95000;
  t.push(audio(937, 160, 0, Law::ulaw, 8), kPcmu20, sink);
  ASSERT_EQ(sink.sent.size(), 3u);
  EXPECT_EQ(sink.sent[1].timestamp, 90000u);
  EXPECT_TRUE(sink.sent[1].marker);
  EXPECT_EQ(sink.sent[2].timestamp, 95000u);
  EXPECT_TRUE(sink.sent[2].marker);
}

TEST(RelayTimeline, TelephoneEventsGoOutWithTheAudioMappingOrNotAtAll) {
  RelayTimeline t;
  Sink sink;
  t.push(audio(0, 160), kPcmu20, sink);
  RelayPacket e;
  e.kind = RelayPacket::Kind::event;
  e.marker = true;
  e.size = 4;
  e.timestamp = 160;
  e.ssrc = 7;
  e.payload[0] = 5;
  e.payload[1] = 10;
  e.payload[2] = 0;
  e.payload[3] = 160;
  t.push(e, kPcmu20, sink);
  ASSERT_EQ(sink.sent.size(), 2u);
  EXPECT_TRUE(sink.sent[1].event);
  EXPECT_TRUE(sink.sent[1].marker);
  EXPECT_EQ(sink.sent[1].timestamp, 50160u);
  EXPECT_EQ(sink.sent[1].payload, (std::vector<std::uint8_t>{5, 10, 0, 160}));
  t.push(e, {Law::ulaw, 20, false}, sink);  // the sink has no telephone-event
  EXPECT_EQ(sink.sent.size(), 2u);
}

}  // namespace
}  // namespace swmld::media
