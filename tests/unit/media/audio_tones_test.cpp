// Ringback tones: the national cadences, their frequencies and levels, exact lengths, and
// the errors for unknown countries and overlong durations.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "media/audio/tones.hpp"
#include "unit/media/audio_signal.hpp"

namespace swmld::media {
namespace {

using test::dbm0_amplitude;
using test::tone_amplitude;

std::span<const std::int16_t> ms(const std::vector<std::int16_t>& pcm, int from_ms, int to_ms) {
  return std::span<const std::int16_t>(pcm).subspan(static_cast<std::size_t>(from_ms) * 8,
                                                    static_cast<std::size_t>(to_ms - from_ms) * 8);
}

bool silent(std::span<const std::int16_t> x) {
  return std::all_of(x.begin(), x.end(), [](std::int16_t v) { return v == 0; });
}

// Every sample of the span belongs to a tone: measured over 100 ms windows, so the
// zero crossings of the sine do not count as gaps.
void expect_tone(std::span<const std::int16_t> x) {
  for (std::size_t at = 0; at + 800 <= x.size(); at += 800) {
    EXPECT_GT(test::rms(x.subspan(at, 800)), 500) << "window at sample " << at;
  }
}

TEST(AudioTones, UsOneCycleIsTwoSecondsOf440And480ThenFourSilent) {
  auto pcm = ring_tone("us", 0);
  ASSERT_TRUE(pcm) << pcm.error().message;
  ASSERT_EQ(pcm->size(), 48000u);
  auto on = ms(*pcm, 0, 2000);
  expect_tone(on);
  // Each tone at -16 dBm0 (within 1 dB), and nothing at the dial-tone or busy frequencies.
  for (double hz : {440.0, 480.0}) {
    EXPECT_NEAR(tone_amplitude(on, hz), dbm0_amplitude(-16), dbm0_amplitude(-16) * 0.12) << hz;
  }
  for (double hz : {350.0, 400.0, 620.0}) EXPECT_LT(tone_amplitude(on, hz), 100) << hz;
  EXPECT_TRUE(silent(ms(*pcm, 2000, 6000)));
}

TEST(AudioTones, UkCadenceIsTwoShortRingsThenTwoSecondsSilent) {
  auto pcm = ring_tone("uk", 0);
  ASSERT_TRUE(pcm);
  ASSERT_EQ(pcm->size(), 3000u * 8);
  expect_tone(ms(*pcm, 0, 400));
  EXPECT_TRUE(silent(ms(*pcm, 400, 600)));
  expect_tone(ms(*pcm, 600, 1000));
  EXPECT_TRUE(silent(ms(*pcm, 1000, 3000)));
  auto on = ms(*pcm, 0, 400);
  EXPECT_GT(tone_amplitude(on, 400), dbm0_amplitude(-17));
  EXPECT_GT(tone_amplitude(on, 450), dbm0_amplitude(-17));
}

TEST(AudioTones, GbIsUk) {
  EXPECT_EQ(ring_cadence("gb"), ring_cadence("uk"));
  EXPECT_EQ(ring_cadence("GB"), ring_cadence("uk"));
  auto gb = ring_tone("gb", 0);
  auto uk = ring_tone("uk", 0);
  ASSERT_TRUE(gb);
  ASSERT_TRUE(uk);
  EXPECT_EQ(*gb, *uk);
}

TEST(AudioTones, CountryIsCaseInsensitive) {
  ASSERT_NE(ring_cadence("DE"), nullptr);
  EXPECT_EQ(ring_cadence("DE"), ring_cadence("de"));
  EXPECT_EQ(ring_cadence("US-Old"), ring_cadence("us-old"));
}

TEST(AudioTones, GermanyIs425HzOneSecondOnFourOff) {
  const RingCadence* de = ring_cadence("de");
  ASSERT_NE(de, nullptr);
  EXPECT_EQ(de->freq1_hz, 425);
  EXPECT_EQ(de->freq2_hz, 0);
  auto pcm = ring_tone("de", 0);
  ASSERT_TRUE(pcm);
  ASSERT_EQ(pcm->size(), 40000u);
  auto on = ms(*pcm, 0, 1000);
  expect_tone(on);
  EXPECT_NEAR(tone_amplitude(on, 425), dbm0_amplitude(-13), dbm0_amplitude(-13) * 0.12);
  EXPECT_TRUE(silent(ms(*pcm, 1000, 5000)));
}

TEST(AudioTones, JapanIs400HzModulatedBy16Hz) {
  // Amplitude modulation puts the carrier at 400 Hz and sidebands at 400 +/- 16 Hz; a plain
  // 400 Hz tone would have none.
  auto pcm = ring_tone("jp", 0);
  ASSERT_TRUE(pcm);
  ASSERT_EQ(pcm->size(), 3000u * 8);
  auto on = ms(*pcm, 0, 1000);
  double carrier = tone_amplitude(on, 400);
  EXPECT_NEAR(carrier, dbm0_amplitude(-16), dbm0_amplitude(-16) * 0.12);
  EXPECT_GT(tone_amplitude(on, 384), carrier / 4);
  EXPECT_GT(tone_amplitude(on, 416), carrier / 4);
  EXPECT_TRUE(silent(ms(*pcm, 1000, 3000)));
}

TEST(AudioTones, SecondsGiveExactlyThatManySamplesAndTheCadenceRepeats) {
  auto de = ring_tone("de", 2.5);
  ASSERT_TRUE(de);
  EXPECT_EQ(de->size(), 20000u);
  auto us = ring_tone("us", 13);
  ASSERT_TRUE(us);
  ASSERT_EQ(us->size(), 104000u);
  expect_tone(ms(*us, 6000, 8000));
  EXPECT_TRUE(silent(ms(*us, 8000, 12000)));
  expect_tone(ms(*us, 12000, 13000));
  auto tiny = ring_tone("uk", 0.001);
  ASSERT_TRUE(tiny);
  EXPECT_EQ(tiny->size(), 8u);
}

TEST(AudioTones, EveryCountryOfTheSwmlListHasACadence) {
  const char* codes[] = {"at", "au", "bg", "br",     "be", "ch", "cl", "cn", "cz", "de", "dk",
                         "ee", "es", "fi", "fr",     "gr", "hu", "il", "in", "it", "lt", "jp",
                         "mx", "my", "nl", "no",     "nz", "ph", "pl", "pt", "ru", "se", "sg",
                         "th", "uk", "us", "us-old", "tw", "ve", "za", "gb"};
  auto known = ring_countries();
  EXPECT_EQ(known.size(), std::size(codes));
  for (const char* code : codes) {
    SCOPED_TRACE(code);
    EXPECT_NE(std::find(known.begin(), known.end(), code), known.end());
    const RingCadence* c = ring_cadence(code);
    ASSERT_NE(c, nullptr);
    auto pcm = ring_tone(code, 0);
    ASSERT_TRUE(pcm) << pcm.error().message;
    int cycle = c->on1_ms + c->off1_ms + c->on2_ms + c->off2_ms;
    EXPECT_EQ(pcm->size(), static_cast<std::size_t>(cycle) * 8);
    expect_tone(ms(*pcm, 0, c->on1_ms));
    EXPECT_TRUE(silent(ms(*pcm, c->on1_ms, c->on1_ms + c->off1_ms)));
    // Never near clipping.
    auto peak = std::max_element(pcm->begin(), pcm->end(),
                                 [](auto a, auto b) { return std::abs(a) < std::abs(b); });
    EXPECT_LT(std::abs(*peak), 16000);
  }
}

TEST(AudioTones, UnknownCountryErrorListsTheKnownCodes) {
  EXPECT_EQ(ring_cadence("xx"), nullptr);
  auto pcm = ring_tone("xx", 0);
  ASSERT_FALSE(pcm);
  EXPECT_EQ(pcm.error().code, ErrorCode::method_parameter_invalid_value);
  const std::string& m = pcm.error().message;
  EXPECT_EQ(m.rfind("unknown ring country 'xx' (known: at, au, be, ", 0), 0u) << m;
  for (const auto& code : ring_countries()) EXPECT_NE(m.find(code), std::string::npos) << code;
}

TEST(AudioTones, MoreThanAnHourIsRefused) {
  auto pcm = ring_tone("us", 3600.5);
  ASSERT_FALSE(pcm);
  EXPECT_EQ(pcm.error().code, ErrorCode::method_parameter_invalid_value);
  EXPECT_NE(pcm.error().message.find("3600"), std::string::npos) << pcm.error().message;
}

}  // namespace
}  // namespace swmld::media
