// Audio files to 8 kHz mono: libsndfile reads from memory through its virtual I/O, each
// block is mixed down and fed to a streaming soxr resampler, so a long 48 kHz stereo file
// never sits in memory as floats. Runs on the worker pool.
#include "decode.hpp"

#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

namespace swmld::media {
namespace {

// A file in memory as libsndfile's virtual I/O sees it. Read-only: write() refuses.
struct MemoryFile {
  const char* data = nullptr;
  sf_count_t size = 0;
  sf_count_t pos = 0;
};

sf_count_t mem_length(void* user) {
  return static_cast<MemoryFile*>(user)->size;
}

sf_count_t mem_seek(sf_count_t offset, int whence, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? f->pos : f->size;
  sf_count_t to = base + offset;
  if (to < 0 || to > f->size) return -1;
  f->pos = to;
  return f->pos;
}

sf_count_t mem_read(void* ptr, sf_count_t count, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  sf_count_t n = std::clamp<sf_count_t>(f->size - f->pos, 0, std::max<sf_count_t>(count, 0));
  if (n > 0) std::memcpy(ptr, f->data + f->pos, static_cast<std::size_t>(n));
  f->pos += n;
  return n;
}

sf_count_t mem_write(const void*, sf_count_t, void*) {
  return 0;
}

sf_count_t mem_tell(void* user) {
  return static_cast<MemoryFile*>(user)->pos;
}

struct SndfileCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};
struct SoxrDeleter {
  void operator()(soxr* s) const { soxr_delete(s); }
};

// Float in [-1, 1) (libsndfile's normalisation: int16 / 32768) to int16, rounded and
// saturated: resampling can overshoot full scale on a clipped source.
std::int16_t to_int16(float v) {
  float s = std::nearbyint(v * 32768.0f);
  return static_cast<std::int16_t>(std::clamp(s, -32768.0f, 32767.0f));
}

// Mono float at `rate` fed in blocks, 8 kHz int16 out. rate 8000 bypasses soxr.
class Resampler {
 public:
  explicit Resampler(int rate) : rate_(rate) {
    if (rate_ == kOutRate) return;
    soxr_error_t err = nullptr;
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
    soxr_runtime_spec_t runtime = soxr_runtime_spec(1);  // no threads of soxr's own
    soxr_.reset(soxr_create(rate_, kOutRate, 1, &err, &io, &quality, &runtime));
    if (err != nullptr) soxr_.reset();
  }

  bool ok() const { return rate_ == kOutRate || soxr_ != nullptr; }

  void push(const float* in, std::size_t n, std::vector<std::int16_t>& out) {
    if (rate_ == kOutRate) {
      for (std::size_t i = 0; i < n; ++i) out.push_back(to_int16(in[i]));
      return;
    }
    while (n > 0) {
      std::size_t used = 0;
      run(in, n, &used, out);
      in += used;
      n -= used;
    }
  }

  // End of input: drains what soxr holds back for its filter.
  void finish(std::vector<std::int16_t>& out) {
    if (rate_ == kOutRate) return;
    while (run(nullptr, 0, nullptr, out) > 0) {
    }
  }

 private:
  static constexpr int kOutRate = 8000;

  std::size_t run(const float* in, std::size_t n, std::size_t* used,
                  std::vector<std::int16_t>& out) {
    std::size_t done = 0;
    soxr_process(soxr_.get(), in, n, used, buf_, std::size(buf_), &done);
    for (std::size_t i = 0; i < done; ++i) out.push_back(to_int16(buf_[i]));
    return done;
  }

  int rate_;
  std::unique_ptr<soxr, SoxrDeleter> soxr_;
  float buf_[4096];
};

Error decode_error(const std::string& name, std::string what) {
  return make_error(ErrorCode::method_execute_failed, name + ": " + what);
}

}  // namespace

std::vector<std::int16_t> resample_to_8k(const std::vector<float>& mono, int rate) {
  std::vector<std::int16_t> out;
  Resampler r(rate);
  if (!r.ok()) return out;
  out.reserve(static_cast<std::size_t>(mono.size() * (8000.0 / rate)) + 16);
  r.push(mono.data(), mono.size(), out);
  r.finish(out);
  return out;
}

Result<std::vector<std::int16_t>> decode_audio(std::string_view bytes, const std::string& name,
                                               const DecodeLimits& limits) {
  if (bytes.empty()) return decode_error(name, "empty file");
  MemoryFile mem{bytes.data(), static_cast<sf_count_t>(bytes.size()), 0};
  SF_VIRTUAL_IO io{mem_length, mem_seek, mem_read, mem_write, mem_tell};
  SF_INFO info{};
  std::unique_ptr<SNDFILE, SndfileCloser> file(sf_open_virtual(&io, SFM_READ, &info, &mem));
  if (!file) {
    // sf_strerror(nullptr) reads libsndfile's process-wide last error: another worker
    // failing at the same moment may swap the detail, never the verdict.
    return decode_error(
        name, std::string("not a supported audio file (libsndfile: ") + sf_strerror(nullptr) + ")");
  }
  if (info.channels <= 0 || info.samplerate <= 0) {
    return decode_error(name, "not a supported audio file (no channels or sample rate)");
  }
  // The header's length decides before anything is decoded. Formats whose length is
  // unknown up front (some MP3 streams report none) are also cut off while reading.
  const double rate = info.samplerate;
  const sf_count_t max_frames = static_cast<sf_count_t>(limits.max_seconds * rate);
  auto too_long = [&](double seconds) {
    char text[96];
    std::snprintf(text, sizeof text, "%.1f s of audio is longer than the limit of %.0f s", seconds,
                  limits.max_seconds);
    return decode_error(name, text);
  };
  if (info.frames > 0 && info.frames != SF_COUNT_MAX && info.frames > max_frames) {
    return too_long(static_cast<double>(info.frames) / rate);
  }

  Resampler resampler(info.samplerate);
  if (!resampler.ok()) {
    return decode_error(name, "cannot resample from " + std::to_string(info.samplerate) + " Hz");
  }
  std::vector<std::int16_t> out;
  if (info.frames > 0 && info.frames != SF_COUNT_MAX) {
    out.reserve(static_cast<std::size_t>(info.frames * (8000.0 / rate)) + 16);
  }
  constexpr sf_count_t kBlock = 4096;  // frames per read
  const int channels = info.channels;
  std::vector<float> interleaved(static_cast<std::size_t>(kBlock * channels));
  std::vector<float> mono(kBlock);
  sf_count_t total = 0;
  for (;;) {
    sf_count_t got = sf_readf_float(file.get(), interleaved.data(), kBlock);
    if (got <= 0) break;
    total += got;
    if (total > max_frames) return too_long(static_cast<double>(total) / rate);
    // Channels are averaged (not summed): a stereo file keeps its level and cannot clip.
    for (sf_count_t i = 0; i < got; ++i) {
      const float* frame = &interleaved[static_cast<std::size_t>(i * channels)];
      float sum = 0;
      for (int c = 0; c < channels; ++c) sum += frame[c];
      mono[static_cast<std::size_t>(i)] = sum / static_cast<float>(channels);
    }
    resampler.push(mono.data(), static_cast<std::size_t>(got), out);
  }
  if (int err = sf_error(file.get()); err != SF_ERR_NO_ERROR) {
    return decode_error(
        name, std::string("corrupt audio data (libsndfile: ") + sf_error_number(err) + ")");
  }
  if (total == 0) return decode_error(name, "no audio in the file");
  resampler.finish(out);
  return out;
}

}  // namespace swmld::media
