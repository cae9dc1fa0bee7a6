// Recording as a stream's tap, driven slot by slot as the media thread would: what it writes
// (channels, samples, the audio itself), what ends it (stop, a terminator, silence after
// speech, no speech, max_length, the stream closing) and how it fails (a folder that cannot
// be made), with the file renamed from .part only when complete.
#include "media/recorder.hpp"

#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "media/audio/g711.hpp"

namespace swmld::media {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path scratch_root() {
  return fs::temp_directory_path() / ("swmld_recorder_test_" + std::to_string(::getpid()));
}

fs::path scratch(const std::string& name) {
  fs::path p = scratch_root() / name;
  fs::remove_all(p);
  return p;
}

std::vector<std::uint8_t> ulaw_tone(double freq, std::size_t samples, std::size_t offset = 0,
                                    double amp = 8000) {
  std::vector<std::int16_t> pcm(samples);
  for (std::size_t i = 0; i < samples; ++i)
    pcm[i] = static_cast<std::int16_t>(
        amp * std::sin(2 * M_PI * freq * static_cast<double>(i + offset) / 8000));
  std::vector<std::uint8_t> out(samples);
  encode_g711(Law::ulaw, pcm, out.data());
  return out;
}

// Speech-like: harmonics of 130 Hz under a formant, loudness swinging at 3 Hz.
std::vector<std::uint8_t> ulaw_vowel(std::size_t samples, std::size_t offset) {
  std::vector<std::int16_t> pcm(samples);
  for (std::size_t i = 0; i < samples; ++i) {
    double t = static_cast<double>(i + offset) / 8000, s = 0;
    for (int k = 1; k < 25; ++k) {
      double f = 130 * k;
      s += std::exp(-std::pow((f - 700) / 200, 2)) * std::sin(2 * M_PI * f * t);
    }
    pcm[i] = static_cast<std::int16_t>(6000 * s * (0.6 + 0.4 * std::sin(2 * M_PI * 3 * t)));
  }
  std::vector<std::uint8_t> out(samples);
  encode_g711(Law::ulaw, pcm, out.data());
  return out;
}

struct Read {
  int channels = 0, rate = 0;
  std::vector<std::int16_t> frames;  // interleaved
};

Read read_file(const fs::path& p) {
  SF_INFO info{};
  SNDFILE* f = sf_open(p.c_str(), SFM_READ, &info);
  EXPECT_NE(f, nullptr) << p;
  Read r;
  if (!f) return r;
  r.channels = info.channels;
  r.rate = info.samplerate;
  r.frames.resize(static_cast<std::size_t>(info.frames * info.channels));
  sf_readf_short(f, r.frames.data(), info.frames);
  sf_close(f);
  return r;
}

// Zero crossings per second / 2 of one channel of `r` from frame `from` for `n` frames.
double frequency(const Read& r, int channel, std::size_t from, std::size_t n) {
  int crossings = 0;
  for (std::size_t i = from + 1; i < from + n; ++i) {
    auto a = r.frames[(i - 1) * r.channels + channel], b = r.frames[i * r.channels + channel];
    if ((a < 0) != (b < 0)) ++crossings;
  }
  return crossings * 8000.0 / (2.0 * static_cast<double>(n));
}

class RecorderTest : public ::testing::Test {
 protected:
  ~RecorderTest() override {
    std::error_code ec;
    fs::remove_all(scratch_root(), ec);
  }
  // Starts a recording; result() waits for its done.
  std::shared_ptr<Recording> start(call::RecordRequest r) {
    auto rec = std::make_shared<Recording>(
        writer_, std::move(r), [this](call::RecordResult res) { promise_.set_value(res); },
        active_);
    rec->open();
    return rec;
  }
  call::RecordResult result() {
    auto f = promise_.get_future();
    EXPECT_EQ(f.wait_for(5s), std::future_status::ready);
    return f.get();
  }
  // `seconds` of 20 ms slots: the far end sends `rx` (if any) just before each, the stream
  // sends `tx` (null: nothing). Stops early when the tap says it is done.
  template <typename Rx, typename Tx>
  int slots(Recording& rec, double seconds, Rx rx, Tx tx) {
    int n = static_cast<int>(std::lround(seconds * 50));
    for (int i = 0; i < n; ++i) {
      auto in = rx(i);
      if (!in.empty()) rec.on_received(in, Law::ulaw);
      auto out = tx(i);
      if (!rec.on_sent(out.empty() ? nullptr : out.data(), 160, Law::ulaw)) return i;
      if (i % 5 == 4) std::this_thread::sleep_for(1ms);  // let the writer keep up
    }
    return n;
  }
  static std::vector<std::uint8_t> none(int) { return {}; }

  std::atomic<std::int64_t> active_{0};
  RecordWriter writer_{1};
  std::promise<call::RecordResult> promise_;
};

TEST_F(RecorderTest, StereoHasWhatTheCallerSaidLeftAndWhatItHeardRight) {
  fs::path path = scratch("stereo") / "day" / "a.wav";
  call::RecordRequest r;
  r.path = path;
  r.stereo = true;
  r.direction = call::RecordRequest::Direction::both;
  auto rec = start(r);
  slots(
      *rec, 1.0, [](int i) { return ulaw_tone(440, 160, 160 * i); },
      [](int i) { return ulaw_tone(1000, 160, 160 * i); });
  EXPECT_FALSE(fs::exists(path));  // still being written: only the .part
  rec->stop("stopped");
  auto res = result();
  EXPECT_EQ(res.end, "stopped");
  EXPECT_EQ(res.samples, 8000u);  // one second of slots, exactly
  EXPECT_EQ(res.dropped, 0u);
  ASSERT_TRUE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path.string() + ".part"));
  EXPECT_EQ(res.bytes, fs::file_size(path));
  Read f = read_file(path);
  EXPECT_EQ(f.channels, 2);
  EXPECT_EQ(f.rate, 8000);
  EXPECT_EQ(f.frames.size(), 16000u);
  EXPECT_NEAR(frequency(f, 0, 1000, 6000), 440, 5);
  EXPECT_NEAR(frequency(f, 1, 1000, 6000), 1000, 5);
  // No longer counted once its `done` has returned (just after it set the result).
  for (int i = 0; i < 500 && active_.load() != 0; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(active_.load(), 0);
}

TEST_F(RecorderTest, ATerminatorKeyEndsItAndSaysWhichKey) {
  call::RecordRequest r;
  r.path = scratch("key") / "k.wav";
  r.terminators = "#";
  auto rec = start(r);
  slots(*rec, 0.2, none, none);
  rec->on_digit('1');  // not a terminator
  slots(*rec, 0.2, none, none);
  rec->on_digit('#');
  EXPECT_FALSE(rec->on_sent(nullptr, 160, Law::ulaw));  // the stream drops the tap
  auto res = result();
  EXPECT_EQ(res.end, "stopped");
  EXPECT_EQ(res.terminator, '#');
  EXPECT_EQ(res.samples, 3200u);
}

TEST_F(RecorderTest, SilenceAfterSpeechEndsItAndNoSpeechIsNoInput) {
  call::RecordRequest r;
  r.path = scratch("vad") / "v.wav";
  r.end_silence_timeout_s = 1;
  r.initial_timeout_s = 3;
  auto rec = start(r);
  // 1.5 s of speech, then silence: ended by the writer about 1 s after the speech.
  int ran = slots(
      *rec, 6,
      [](int i) {
        return i < 75 ? ulaw_vowel(160, 160 * i) : std::vector<std::uint8_t>(160, 0xFF);
      },
      none);
  auto res = result();
  EXPECT_EQ(res.end, "silence");
  EXPECT_GE(res.duration_s(), 2.3);
  EXPECT_LE(res.duration_s(), 2.8);
  EXPECT_LT(ran, 300);

  promise_ = {};
  r.path = scratch("vad") / "none.wav";
  r.initial_timeout_s = 1;
  auto quiet = start(r);
  slots(*quiet, 3, none, none);
  res = result();
  EXPECT_EQ(res.end, "no_input");
  EXPECT_DOUBLE_EQ(res.duration_s(), 1.0);
}

TEST_F(RecorderTest, MaxLengthCutsItExactlyAndMp3IsWritten) {
  fs::path path = scratch("max") / "m.mp3";
  call::RecordRequest r;
  r.path = path;
  r.format = "mp3";
  r.max_length_s = 0.55;
  auto rec = start(r);
  slots(
      *rec, 2, [](int i) { return ulaw_tone(440, 160, 160 * i); }, none);
  auto res = result();
  EXPECT_EQ(res.end, "max_length");
  EXPECT_EQ(res.samples, 4400u);
  ASSERT_TRUE(fs::exists(path));
  Read f = read_file(path);  // libsndfile reads MP3 through mpg123
  EXPECT_EQ(f.rate, 8000);
  EXPECT_EQ(f.channels, 1);
  EXPECT_NEAR(static_cast<double>(f.frames.size()) / 8000, 0.55, 0.1);
}

TEST_F(RecorderTest, TheStreamClosingFinishesItAndAFolderThatCannotBeMadeFailsAtOnce) {
  call::RecordRequest r;
  r.path = scratch("close") / "c.wav";
  auto rec = start(r);
  slots(*rec, 0.5, none, none);
  rec->on_close();
  auto res = result();
  EXPECT_EQ(res.end, "hangup");
  EXPECT_EQ(res.samples, 4000u);

  promise_ = {};
  fs::path blocker = scratch("blocker");
  fs::create_directories(blocker.parent_path());
  { std::ofstream(blocker.string()) << "x"; }
  r.path = blocker / "sub" / "x.wav";
  auto bad = start(r);
  res = result();  // before any audio
  EXPECT_EQ(res.end, "error");
  EXPECT_NE(res.error.find("cannot create"), std::string::npos) << res.error;
  EXPECT_FALSE(bad->on_sent(nullptr, 160, Law::ulaw));
}

TEST(RecordRequestCheck, NamesTheSupportedFormats) {
  call::RecordRequest r;
  r.path = "/tmp/x.mp4";
  r.format = "mp4";
  EXPECT_EQ(check_record_request(r), "format 'mp4' is not supported (supported: wav, mp3)");
  r.format = "wav";
  EXPECT_EQ(check_record_request(r), "");
}

}  // namespace
}  // namespace swmld::media
