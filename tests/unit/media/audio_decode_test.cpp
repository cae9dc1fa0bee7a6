// Decoding files from memory: formats libsndfile writes here (WAV, FLAC, OGG/Vorbis, MP3),
// down-mixing, resampling to 8 kHz, the length limit and the errors a caller sees.
#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <cstring>
#include <numbers>
#include <string>
#include <type_traits>
#include <vector>

#include "media/audio/decode.hpp"
#include "unit/media/audio_signal.hpp"

namespace swmld::media {
namespace {

using test::tone_amplitude;

// A growable file in memory for libsndfile's virtual writes.
struct Buffer {
  std::string data;
  sf_count_t pos = 0;
};

SF_VIRTUAL_IO buffer_io() {
  SF_VIRTUAL_IO io{};
  io.get_filelen = [](void* u) {
    return static_cast<sf_count_t>(static_cast<Buffer*>(u)->data.size());
  };
  io.seek = [](sf_count_t off, int whence, void* u) {
    auto* b = static_cast<Buffer*>(u);
    sf_count_t base = whence == SEEK_SET   ? 0
                      : whence == SEEK_CUR ? b->pos
                                           : static_cast<sf_count_t>(b->data.size());
    b->pos = base + off;
    return b->pos;
  };
  io.read = [](void* ptr, sf_count_t n, void* u) {
    auto* b = static_cast<Buffer*>(u);
    sf_count_t left = static_cast<sf_count_t>(b->data.size()) - b->pos;
    sf_count_t got = std::max<sf_count_t>(0, std::min(n, left));
    std::memcpy(ptr, b->data.data() + b->pos, static_cast<std::size_t>(got));
    b->pos += got;
    return got;
  };
  io.write = [](const void* ptr, sf_count_t n, void* u) {
    auto* b = static_cast<Buffer*>(u);
    auto end = static_cast<std::size_t>(b->pos + n);
    if (end > b->data.size()) b->data.resize(end);
    std::memcpy(b->data.data() + b->pos, ptr, static_cast<std::size_t>(n));
    b->pos += n;
    return n;
  };
  io.tell = [](void* u) { return static_cast<Buffer*>(u)->pos; };
  return io;
}

// Interleaved frames of `channels` channels (float or int16) encoded as `format` at `rate`.
template <typename Sample>
std::string encode(int format, int rate, int channels, const std::vector<Sample>& interleaved) {
  Buffer buf;
  SF_VIRTUAL_IO io = buffer_io();
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open_virtual(&io, SFM_WRITE, &info, &buf);
  EXPECT_NE(f, nullptr) << sf_strerror(nullptr);
  if (f == nullptr) return {};
  sf_count_t frames = static_cast<sf_count_t>(interleaved.size()) / channels;
  if constexpr (std::is_same_v<Sample, float>) {
    EXPECT_EQ(sf_writef_float(f, interleaved.data(), frames), frames);
  } else {
    EXPECT_EQ(sf_writef_short(f, interleaved.data(), frames), frames);
  }
  sf_close(f);
  return buf.data;
}

// A sine of `hz` at `amplitude` (of full scale), `seconds` long, the same in every channel.
std::vector<float> sine(double hz, double amplitude, double seconds, int rate, int channels = 1) {
  auto frames = static_cast<std::size_t>(seconds * rate);
  std::vector<float> out;
  out.reserve(frames * static_cast<std::size_t>(channels));
  for (std::size_t i = 0; i < frames; ++i) {
    auto v = static_cast<float>(amplitude * std::sin(2 * std::numbers::pi * hz * i / rate));
    for (int c = 0; c < channels; ++c) out.push_back(v);
  }
  return out;
}

// Decodes and checks the result is `seconds` of a 1 kHz sine near `amplitude` (of full
// scale); the middle half is measured, away from the resampler's edges.
void expect_1khz(const std::string& bytes, double seconds, double amplitude,
                 double level_tolerance = 0.05) {
  auto pcm = decode_audio(bytes, "test");
  ASSERT_TRUE(pcm) << pcm.error().message;
  EXPECT_NEAR(static_cast<double>(pcm->size()), seconds * 8000, seconds * 8000 * 0.01);
  std::span<const std::int16_t> mid(pcm->data() + pcm->size() / 4, pcm->size() / 2);
  double at_1k = tone_amplitude(mid, 1000);
  EXPECT_NEAR(at_1k, amplitude * 32768, amplitude * 32768 * level_tolerance);
  for (double other : {250.0, 500.0, 1500.0, 2000.0, 3000.0}) {
    EXPECT_LT(tone_amplitude(mid, other), at_1k / 20) << other << " Hz";
  }
}

TEST(AudioDecode, StereoWav16kBecomes8kMono) {
  expect_1khz(encode(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2, sine(1000, 0.5, 2, 16000, 2)), 2,
              0.5);
}

TEST(AudioDecode, ChannelsAreAveraged) {
  // Left a sine, right silent: the mono mix has half the amplitude.
  std::vector<float> frames;
  for (float v : sine(1000, 0.8, 1, 8000)) {
    frames.push_back(v);
    frames.push_back(0);
  }
  expect_1khz(encode(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 2, frames), 1, 0.4);
  // Opposite channels cancel.
  std::vector<float> opposite;
  for (float v : sine(1000, 0.8, 1, 8000)) {
    opposite.push_back(v);
    opposite.push_back(-v);
  }
  auto pcm = decode_audio(encode(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 2, opposite), "t");
  ASSERT_TRUE(pcm);
  EXPECT_LT(test::rms(*pcm), 2.0);
}

TEST(AudioDecode, EightKilohertzMonoIsCopiedSampleForSample) {
  std::vector<std::int16_t> in = {0, 16384, -16384, 1000, -32768, 32767, 1, -1};
  auto pcm = decode_audio(encode(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, in), "t");
  ASSERT_TRUE(pcm) << pcm.error().message;
  EXPECT_EQ(*pcm, in);
}

TEST(AudioDecode, FlacDecodes) {
  expect_1khz(encode(SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1, sine(1000, 0.5, 1.5, 44100)), 1.5,
              0.5);
}

TEST(AudioDecode, OggVorbisDecodes) {
  expect_1khz(encode(SF_FORMAT_OGG | SF_FORMAT_VORBIS, 48000, 2, sine(1000, 0.5, 1.5, 48000, 2)),
              1.5, 0.5);
}

TEST(AudioDecode, Mp3Decodes) {
  // Debian's libsndfile 1.2 encodes MP3 with LAME and decodes it with mpg123. The encoder
  // pads the start and end (about 50 ms), hence the looser length and level bounds.
  std::string mp3 =
      encode(SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 1, sine(1000, 0.5, 2, 44100));
  ASSERT_FALSE(mp3.empty());
  auto pcm = decode_audio(mp3, "https://x/y.mp3");
  ASSERT_TRUE(pcm) << pcm.error().message;
  EXPECT_NEAR(static_cast<double>(pcm->size()), 16000, 800);
  std::span<const std::int16_t> mid(pcm->data() + pcm->size() / 4, pcm->size() / 2);
  EXPECT_NEAR(tone_amplitude(mid, 1000), 0.5 * 32768, 0.5 * 32768 * 0.1);
  EXPECT_LT(tone_amplitude(mid, 2000), tone_amplitude(mid, 1000) / 20);
}

TEST(AudioDecode, GarbageIsNotAnAudioFileAndTheErrorNamesIt) {
  std::string garbage(4000, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 7919 % 251);
  auto pcm = decode_audio(garbage, "https://x/y.wav");
  ASSERT_FALSE(pcm);
  EXPECT_EQ(pcm.error().code, ErrorCode::method_execute_failed);
  EXPECT_EQ(
      pcm.error().message.rfind("https://x/y.wav: not a supported audio file (libsndfile: ", 0), 0u)
      << pcm.error().message;
}

TEST(AudioDecode, EmptyBytesAreRefused) {
  auto pcm = decode_audio("", "/tmp/empty.wav");
  ASSERT_FALSE(pcm);
  EXPECT_EQ(pcm.error().message, "/tmp/empty.wav: empty file");
}

TEST(AudioDecode, LongerThanTheLimitIsRefused) {
  std::string wav = encode(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, sine(440, 0.3, 3, 8000));
  auto pcm = decode_audio(wav, "long.wav", DecodeLimits{2});
  ASSERT_FALSE(pcm);
  EXPECT_EQ(pcm.error().message, "long.wav: 3.0 s of audio is longer than the limit of 2 s");
  EXPECT_TRUE(decode_audio(wav, "long.wav", DecodeLimits{3}));
}

TEST(AudioDecode, TheLimitIsCheckedFromTheHeaderBeforeDecoding) {
  // FLAC states its length in the header: cut the file after 2 kB and a decoder would find
  // well under 1 s; the refusal still names the full 5 s, so it came from the header alone.
  std::string flac = encode(SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 8000, 1, sine(440, 0.3, 5, 8000));
  ASSERT_GT(flac.size(), 4000u);
  auto pcm = decode_audio(flac.substr(0, 2000), "cut.flac", DecodeLimits{2});
  ASSERT_FALSE(pcm);
  EXPECT_EQ(pcm.error().message, "cut.flac: 5.0 s of audio is longer than the limit of 2 s");
}

TEST(AudioResample, FortyEightKilohertzTo8k) {
  std::vector<float> in = sine(1000, 0.25, 1, 48000);
  auto out = resample_to_8k(in, 48000);
  EXPECT_NEAR(static_cast<double>(out.size()), 8000, 80);
  std::span<const std::int16_t> mid(out.data() + 2000, 4000);
  EXPECT_NEAR(tone_amplitude(mid, 1000), 0.25 * 32768, 0.25 * 32768 * 0.02);
}

TEST(AudioResample, AboveNyquistOf8kIsFilteredOut) {
  // 5 kHz cannot exist at 8 kHz: the resampler's low-pass must remove it, not alias it
  // to 3 kHz.
  auto out = resample_to_8k(sine(5000, 0.5, 1, 16000), 16000);
  std::span<const std::int16_t> mid(out.data() + 2000, 4000);
  EXPECT_LT(test::rms(mid), 0.5 * 32768 * 0.01);
}

TEST(AudioResample, At8kOnlyConvertsAndSaturates) {
  auto out = resample_to_8k({0.0f, 0.25f, -0.25f, 1.5f, -1.5f}, 8000);
  EXPECT_EQ(out, (std::vector<std::int16_t>{0, 8192, -8192, 32767, -32768}));
}

}  // namespace
}  // namespace swmld::media
