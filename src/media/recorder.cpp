// Recording and RecordWriter (see recorder.hpp).
#include "recorder.hpp"

#include <sndfile.h>
#include <spdlog/spdlog.h>
#include <speex/speex_preprocess.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "audio/clip.hpp"
#include "swmld/core/thread_name.hpp"

namespace swmld::media {
namespace {

constexpr std::size_t kFrame = 160;         // 20 ms at 8 kHz: the detector's frame
constexpr std::size_t kChunkSamples = 800;  // 100 ms handed to the writer at a time
constexpr std::size_t kMaxReceived = 1600;  // 200 ms of received audio waiting for slots

std::uint64_t seconds_samples(double s) {
  return s > 0 ? static_cast<std::uint64_t>(std::llround(s * kSampleRate)) : 0;
}

}  // namespace

// ---- RecordWriter -----------------------------------------------------------------------

RecordWriter::RecordWriter(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i)
    threads_.emplace_back([this, i] {
      name_this_thread("swmld-record-" + std::to_string(i));
      // Below the media threads: encoding (MP3 above all) must not delay a tick. A writer
      // that falls behind is bounded (kMaxPendingChunks) and counted.
      if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10) != 0)
        spdlog::debug("record: the writer's priority stays as it is ({})", std::strerror(errno));
      run();
    });
}

RecordWriter::~RecordWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void RecordWriter::post(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void RecordWriter::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and nothing left to run
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

// ---- checks -----------------------------------------------------------------------------

std::string check_record_request(const call::RecordRequest& r) {
  if (r.format != "wav" && r.format != "mp3")
    return "format '" + r.format + "' is not supported (supported: wav, mp3)";
  if (r.path.empty()) return "no file to record to";
  for (double v : {r.initial_timeout_s, r.end_silence_timeout_s, r.max_length_s})
    if (!(v >= 0) || v > 24 * 3600) return "timeouts and max_length must be 0 to 86400 seconds";
  if (!(r.input_sensitivity >= 0 && r.input_sensitivity <= 100))
    return "input_sensitivity must be 0 to 100";
  return {};
}

// ---- Recording: writer state --------------------------------------------------------------

struct Recording::Writer {
  SNDFILE* file = nullptr;
  std::string part;  // path + ".part"
  int channels = 1;
  bool opened = false;
  double elapsed_s = 0;
  bool finished = false;
  std::uint64_t samples = 0;    // frames written
  std::uint64_t speech_at = 0;  // sample count when speech was last heard
  bool heard = false;           // any speech yet
  SpeexPreprocessState* vad = nullptr;
  std::vector<std::int16_t> vad_buf;        // speak samples not yet a whole detector frame
  std::vector<std::int16_t> out;            // interleaved frames to write
  double min_energy = 0;                    // mean square below which a frame is never speech
  int prob_start = 35, prob_continue = 20;  // speech probability (%) to start, to go on
  bool was_speech = false;

  ~Writer() {
    if (vad) speex_preprocess_state_destroy(vad);
    if (file) sf_close(file);
  }
};

Recording::Recording(RecordWriter& writer, call::RecordRequest request,
                     std::function<void(call::RecordResult)> done,
                     std::atomic<std::int64_t>& active)
    : writer_(writer),
      request_(std::move(request)),
      active_(active),
      done_(std::move(done)),
      w_(std::make_unique<Writer>()) {
  active_.fetch_add(1, std::memory_order_relaxed);
  current_.speak.reserve(kChunkSamples);
  current_.listen.reserve(kChunkSamples);
}

Recording::~Recording() {
  if (counted_) active_.fetch_sub(1, std::memory_order_relaxed);
}

void Recording::open() {
  bool post = false;
  {
    std::lock_guard lock(mu_);
    if (!scheduled_) post = scheduled_ = true;
  }
  if (post) writer_.post([self = shared_from_this()] { self->drain(); });
}

void Recording::open_file() {
  Writer& w = *w_;
  w.opened = true;
  const call::RecordRequest& r = request_;
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path path(r.path);
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  if (ec)
    return finish("error", "cannot create " + path.parent_path().string() + ": " + ec.message());
  w.part = r.path + ".part";
  w.channels = r.stereo ? 2 : 1;
  SF_INFO info{};
  info.samplerate = kSampleRate;
  info.channels = w.channels;
  info.format = r.format == "mp3" ? (SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III)
                                  : (SF_FORMAT_WAV | SF_FORMAT_PCM_16);
  w.file = sf_open(w.part.c_str(), SFM_WRITE, &info);
  if (!w.file) return finish("error", "cannot write " + w.part + ": " + sf_strerror(nullptr));
  if (r.initial_timeout_s > 0 || r.end_silence_timeout_s > 0) {
    // speexdsp's detector (its speech probability, from its noise estimate) decides, with
    // a floor of loudness: input_sensitivity sets how likely speech must be to start (44:
    // about speexdsp's own default of 35) and how quiet a frame may be and still count.
    // SPEEX_PREPROCESS_SET_VAD would do the same comparison (and print a warning on
    // stderr for every recording): the probability is read and compared here.
    w.vad = speex_preprocess_state_init(static_cast<int>(kFrame), kSampleRate);
    int off = 0;
    speex_preprocess_ctl(w.vad, SPEEX_PREPROCESS_SET_DENOISE, &off);
    speex_preprocess_ctl(w.vad, SPEEX_PREPROCESS_SET_AGC, &off);
    speex_preprocess_ctl(w.vad, SPEEX_PREPROCESS_SET_DEREVERB, &off);
    w.prob_start = std::clamp(static_cast<int>(std::lround(79 - r.input_sensitivity)), 5, 95);
    w.prob_continue = std::max(3, w.prob_start * 3 / 5);
    // -60 dBFS at sensitivity 100, -20 dBFS at 0 (44: about -38 dBFS).
    double db = -20 - 40 * (r.input_sensitivity / 100.0);
    double amp = 32768.0 * std::pow(10.0, db / 20);
    w.min_energy = amp * amp;
  }
}

// ---- Recording: media thread ------------------------------------------------------------

bool Recording::on_sent(const std::uint8_t* payload, std::size_t samples, Law law) {
  if (ended_) return false;
  if (done_flag_.load(std::memory_order_acquire)) {  // the writer ended it (timeout, error)
    ended_ = true;
    return false;
  }
  if (first_slot_ == std::chrono::steady_clock::time_point{})
    first_slot_ = std::chrono::steady_clock::now();
  while (samples > 0) {
    std::size_t n = std::min(samples, kChunkSamples - current_.speak.size());
    // What the leg heard: the slot's audio, or silence.
    std::size_t at = current_.listen.size();
    current_.listen.resize(at + n);
    if (payload)
      decode_g711(law, {payload, n}, current_.listen.data() + at);
    else
      std::fill(current_.listen.begin() + static_cast<std::ptrdiff_t>(at), current_.listen.end(),
                0);
    // What the leg said: received audio played out at the slot clock, after 40 ms buffered
    // (so that packets arriving a little late or early do not leave gaps).
    at = current_.speak.size();
    current_.speak.resize(at + n, 0);
    if (!primed_ && rx_.size() >= 2 * n) primed_ = true;
    if (primed_) {
      std::size_t take = std::min(n, rx_.size());
      std::copy_n(rx_.begin(), take, current_.speak.begin() + static_cast<std::ptrdiff_t>(at));
      rx_.erase(rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(take));
      if (rx_.empty()) primed_ = false;
    }
    if (payload) payload += n;
    samples -= n;
    if (current_.speak.size() >= kChunkSamples) flush(false, {}, 0);
  }
  return true;
}

void Recording::on_received(std::span<const std::uint8_t> payload, Law law) {
  if (ended_) return;
  std::size_t at = rx_.size();
  rx_.resize(at + payload.size());
  decode_g711(law, payload, rx_.data() + at);
  if (rx_.size() > kMaxReceived)  // the far end sends faster than our clock: keep the newest
    rx_.erase(rx_.begin(), rx_.end() - static_cast<std::ptrdiff_t>(kMaxReceived));
}

void Recording::on_digit(char digit) {
  if (!ended_ && request_.terminators.find(digit) != std::string::npos) stop("stopped", digit);
}

void Recording::on_close() {
  if (!ended_) stop("hangup");
}

void Recording::stop(std::string end, char terminator) {
  if (ended_) return;
  ended_ = true;
  flush(true, std::move(end), terminator);
}

void Recording::flush(bool end, std::string reason, char terminator) {
  Chunk c = std::move(current_);
  c.end = end;
  if (end && first_slot_ != std::chrono::steady_clock::time_point{})
    c.elapsed_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - first_slot_).count();
  c.end_reason = std::move(reason);
  c.terminator = terminator;
  current_ = Chunk{};
  if (!end) {
    current_.speak.reserve(kChunkSamples);
    current_.listen.reserve(kChunkSamples);
  }
  push(std::move(c));
}

void Recording::push(Chunk chunk) {
  bool post = false;
  {
    std::lock_guard lock(mu_);
    if (!chunk.end && pending_.size() >= kMaxPendingChunks) {
      dropped_.fetch_add(chunk.speak.size(), std::memory_order_relaxed);
      return;
    }
    pending_.push_back(std::move(chunk));
    if (!scheduled_) post = scheduled_ = true;
  }
  if (post) writer_.post([self = shared_from_this()] { self->drain(); });
}

// ---- Recording: writer ------------------------------------------------------------------

void Recording::drain() {
  if (!w_->opened) open_file();
  for (;;) {
    Chunk c;
    {
      std::lock_guard lock(mu_);
      if (pending_.empty()) {
        scheduled_ = false;
        return;
      }
      c = std::move(pending_.front());
      pending_.pop_front();
    }
    if (w_->finished) continue;  // ended already (a timeout, an error): the rest is not kept
    write(c);
    if (c.end && !w_->finished) {
      w_->elapsed_s = c.elapsed_s;
      finish(c.end_reason, {}, c.terminator);
    }
  }
}

bool Recording::is_speech(const std::int16_t* frame) {
  Writer& w = *w_;
  double energy = 0;
  for (std::size_t i = 0; i < kFrame; ++i) energy += static_cast<double>(frame[i]) * frame[i];
  energy /= kFrame;
  // speexdsp may change the frame (with denoise off it only analyses): give it a copy.
  std::array<spx_int16_t, kFrame> copy;
  std::copy_n(frame, kFrame, copy.begin());
  speex_preprocess_run(w.vad, copy.data());
  int prob = 0;
  speex_preprocess_ctl(w.vad, SPEEX_PREPROCESS_GET_PROB, &prob);
  w.was_speech = prob > w.prob_start || (w.was_speech && prob > w.prob_continue);
  return w.was_speech && energy >= w.min_energy;
}

void Recording::write(Chunk& c) {
  Writer& w = *w_;
  const call::RecordRequest& r = request_;
  const std::size_t n = c.speak.size();
  if (n == 0 || !w.file) return;
  std::size_t keep = n;  // samples of this chunk kept (a timeout may end it inside)
  std::string ended;
  if (w.vad) {
    const std::uint64_t initial = seconds_samples(r.initial_timeout_s);
    const std::uint64_t silence = seconds_samples(r.end_silence_timeout_s);
    // The detector listens to the caller's side (speak); listen-only recordings to what
    // the caller hears.
    const auto& heard = r.direction == call::RecordRequest::Direction::listen ? c.listen : c.speak;
    std::size_t i = 0;
    while (i < n && ended.empty()) {
      std::size_t take = std::min(kFrame - w.vad_buf.size(), n - i);
      w.vad_buf.insert(w.vad_buf.end(), heard.begin() + static_cast<std::ptrdiff_t>(i),
                       heard.begin() + static_cast<std::ptrdiff_t>(i + take));
      i += take;
      if (w.vad_buf.size() < kFrame) break;
      const std::uint64_t now = w.samples + i;
      if (is_speech(w.vad_buf.data())) {
        w.heard = true;
        w.speech_at = now;
      }
      w.vad_buf.clear();
      if (!w.heard && initial > 0 && now >= initial) {
        ended = "no_input";
        keep = i;
      } else if (w.heard && silence > 0 && now - w.speech_at >= silence) {
        ended = "silence";
        keep = i;
      }
    }
  }
  const std::uint64_t max = seconds_samples(r.max_length_s);
  if (max > 0 && w.samples + keep >= max) {
    keep = static_cast<std::size_t>(max - w.samples);
    ended = "max_length";
  }
  w.out.resize(keep * static_cast<std::size_t>(w.channels));
  for (std::size_t i = 0; i < keep; ++i) {
    if (w.channels == 2) {
      w.out[2 * i] = c.speak[i];
      w.out[2 * i + 1] = c.listen[i];
    } else if (r.direction == call::RecordRequest::Direction::speak) {
      w.out[i] = c.speak[i];
    } else if (r.direction == call::RecordRequest::Direction::listen) {
      w.out[i] = c.listen[i];
    } else {
      int v = c.speak[i] + c.listen[i];
      w.out[i] = static_cast<std::int16_t>(std::clamp(v, -32768, 32767));
    }
  }
  if (keep > 0) {
    sf_count_t wrote = sf_writef_short(w.file, w.out.data(), static_cast<sf_count_t>(keep));
    if (wrote > 0) w.samples += static_cast<std::uint64_t>(wrote);
    if (wrote != static_cast<sf_count_t>(keep))
      return finish("error", "writing " + w.part + " failed: " + sf_strerror(w.file));
  }
  if (!ended.empty()) finish(ended, {});
}

void Recording::finish(std::string end, std::string error, char terminator) {
  Writer& w = *w_;
  if (w.finished) return;
  w.finished = true;
  done_flag_.store(true, std::memory_order_release);
  call::RecordResult result;
  result.end = std::move(end);
  result.terminator = terminator;
  result.samples = w.samples;
  result.dropped = dropped_.load(std::memory_order_relaxed);
  result.elapsed_s = w.elapsed_s;
  if (w.file) {
    int rc = sf_close(w.file);
    w.file = nullptr;
    std::error_code ec;
    if (rc != 0 && error.empty()) error = "closing " + w.part + " failed: " + sf_error_number(rc);
    if (error.empty()) std::filesystem::rename(w.part, request_.path, ec);
    if (ec) error = "renaming " + w.part + " failed: " + ec.message();
    if (!error.empty()) {
      std::filesystem::remove(w.part, ec);  // half a file is no use to anyone
    } else {
      auto size = std::filesystem::file_size(request_.path, ec);
      result.bytes = ec ? 0 : static_cast<std::uint64_t>(size);
    }
  }
  if (!error.empty()) {
    result.end = "error";
    result.error = std::move(error);
    spdlog::warn("record: {}", result.error);
  }
  if (w.vad) {
    speex_preprocess_state_destroy(w.vad);
    w.vad = nullptr;
  }
  if (done_) {
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(result));
  }
  counted_ = false;
  active_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace swmld::media
