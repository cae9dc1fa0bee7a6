// G.711 coding through spandsp, gain and clips: quantisation bounds, silence codes,
// saturation.
#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "media/audio/clip.hpp"
#include "media/audio/g711.hpp"

namespace swmld::media {
namespace {

std::int16_t round_trip(Law law, std::int16_t x) {
  std::uint8_t code = 0;
  std::int16_t back = 0;
  encode_g711(law, std::span<const std::int16_t>(&x, 1), &code);
  decode_g711(law, std::span<const std::uint8_t>(&code, 1), &back);
  return back;
}

// Both laws are logarithmic: the step doubles with each segment, so the error of a round
// trip stays within about 1/32 of the value (half a step) plus a fixed floor near zero.
// Beyond the largest code (mu-law 32124, A-law 32256) a value clips to it.
void expect_within_quantisation(Law law, int max_code) {
  int previous = -32768;
  for (int x = -32768; x <= 32767; ++x) {
    int back = round_trip(law, static_cast<std::int16_t>(x));
    int magnitude = std::min(std::abs(x), max_code);
    int clipped = x < 0 ? -magnitude : magnitude;
    ASSERT_LE(std::abs(back - clipped), magnitude / 32 + 8) << "x=" << x;
    ASSERT_GE(back, previous) << "not monotonic at x=" << x;
    previous = back;
  }
}

TEST(AudioG711, MuLawRoundTripIsWithinHalfAStep) {
  expect_within_quantisation(Law::ulaw, 32124);
}

TEST(AudioG711, ALawRoundTripIsWithinHalfAStep) {
  expect_within_quantisation(Law::alaw, 32256);
}

TEST(AudioG711, EveryCodeDecodesAndReencodesToItself) {
  for (Law law : {Law::ulaw, Law::alaw}) {
    for (int c = 0; c < 256; ++c) {
      auto code = static_cast<std::uint8_t>(c);
      std::int16_t linear = 0;
      decode_g711(law, std::span<const std::uint8_t>(&code, 1), &linear);
      std::uint8_t again = 0;
      encode_g711(law, std::span<const std::int16_t>(&linear, 1), &again);
      // mu-law has two zeros (0x7F and 0xFF): -0 re-encodes as +0.
      if (law == Law::ulaw && c == 0x7F) {
        EXPECT_EQ(again, 0xFF);
      } else {
        EXPECT_EQ(again, code) << "law " << static_cast<int>(law) << " code " << c;
      }
    }
  }
}

TEST(AudioG711, SilenceCodesAreTheCodesOfZero) {
  EXPECT_EQ(g711_silence(Law::ulaw), 0xFF);
  EXPECT_EQ(g711_silence(Law::alaw), 0xD5);
  std::int16_t zero = 0;
  std::uint8_t code = 0;
  encode_g711(Law::ulaw, std::span<const std::int16_t>(&zero, 1), &code);
  EXPECT_EQ(code, 0xFF);
  encode_g711(Law::alaw, std::span<const std::int16_t>(&zero, 1), &code);
  EXPECT_EQ(code, 0xD5);
}

TEST(AudioG711, GainFactorIsTenToTheDbOverTwenty) {
  EXPECT_DOUBLE_EQ(gain_factor(0), 1.0);
  EXPECT_NEAR(gain_factor(6), 1.9953, 1e-4);
  EXPECT_NEAR(gain_factor(-6), 0.5012, 1e-4);
  EXPECT_NEAR(gain_factor(40), 100.0, 1e-9);
  EXPECT_NEAR(gain_factor(-40), 0.01, 1e-12);
}

TEST(AudioG711, GainScalesAndRounds) {
  std::vector<std::int16_t> in = {1000, -1000, 0, 3};
  std::vector<std::int16_t> out(in.size());
  apply_gain(in, gain_factor(6), out.data());
  EXPECT_EQ(out, (std::vector<std::int16_t>{1995, -1995, 0, 6}));
}

TEST(AudioG711, GainSaturatesInsteadOfWrapping) {
  std::vector<std::int16_t> in = {20000, -20000, 32767, -32768};
  std::vector<std::int16_t> out(in.size());
  apply_gain(in, gain_factor(40), out.data());
  EXPECT_EQ(out, (std::vector<std::int16_t>{32767, -32768, 32767, -32768}));
}

TEST(AudioG711, GainMayWorkInPlace) {
  std::vector<std::int16_t> buf = {100, -200, 300};
  apply_gain(buf, 0.5, buf.data());
  EXPECT_EQ(buf, (std::vector<std::int16_t>{50, -100, 150}));
}

TEST(AudioClip, HoldsThePcmAndBothEncodings) {
  std::vector<std::int16_t> pcm = {0, 1000, -1000, 32767, -32768, 8};
  std::vector<std::uint8_t> ulaw(pcm.size()), alaw(pcm.size());
  encode_g711(Law::ulaw, pcm, ulaw.data());
  encode_g711(Law::alaw, pcm, alaw.data());
  ClipPtr clip = make_clip(pcm);
  EXPECT_EQ(clip->pcm, pcm);
  EXPECT_EQ(clip->ulaw, ulaw);
  EXPECT_EQ(clip->alaw, alaw);
  EXPECT_EQ(clip->samples(), 6u);
  EXPECT_EQ(clip->bytes(), 6u * 4);
}

TEST(AudioClip, SecondsCountAt8kHz) {
  ClipPtr clip = make_clip(std::vector<std::int16_t>(12000));
  EXPECT_DOUBLE_EQ(clip->seconds(), 1.5);
  EXPECT_EQ(clip->ulaw, std::vector<std::uint8_t>(12000, 0xFF));
  EXPECT_EQ(clip->alaw, std::vector<std::uint8_t>(12000, 0xD5));
  EXPECT_TRUE(make_clip({})->pcm.empty());
}

}  // namespace
}  // namespace swmld::media
