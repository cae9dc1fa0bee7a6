// Playable sounds: parsing, the audio cache and the loader (see sounds.hpp).
#include "sounds.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "audio/decode.hpp"
#include "audio/tones.hpp"
#include "swmld/core/url.hpp"

namespace swmld::media {
namespace {

using Clock = std::chrono::steady_clock;

// An HTTP response without Cache-Control is kept this long: prompt servers rarely send the
// header, and fetching and decoding a prompt for every call would cost far more than a
// stale prompt for five minutes (docs/configuration.md, media).
constexpr double kDefaultHttpCacheSeconds = 300;
constexpr double kMaxGeneratedSeconds = 3600;  // silence:/ring: longer than an hour: refused

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

std::string_view after(std::string_view s, std::string_view prefix) {
  s.remove_prefix(prefix.size());
  if (!s.empty() && s.front() == ' ') s.remove_prefix(1);  // "say: hi" == "say:hi"
  return s;
}

Result<double> seconds_of(std::string_view text, std::string_view sound) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || v < 0 ||
      v > kMaxGeneratedSeconds)
    return make_error(ErrorCode::method_parameter_invalid_value,
                      "'" + std::string(sound) + "': seconds must be a number from 0 to 3600");
  return v;
}

Error load_error(std::string message) {
  return make_error(ErrorCode::method_execute_failed, std::move(message));
}

}  // namespace

Result<Sound> parse_sound(std::string_view text) {
  Sound s;
  if (starts_with_nocase(text, "http://") || starts_with_nocase(text, "https://")) {
    s.kind = Sound::Kind::url;
    s.target = std::string(text);
    return s;
  }
  if (text.starts_with("file:")) {
    std::string_view path = text.substr(5);
    if (path.starts_with("//")) path.remove_prefix(2);  // file:///abs/path
    if (path.empty())
      return make_error(ErrorCode::method_parameter_invalid_value, "'file:' names no file");
    s.kind = Sound::Kind::file;
    s.target = std::string(path);
    return s;
  }
  if (text.starts_with("say:")) {
    std::string_view t = after(text, "say:");
    if (t.find_first_not_of(" \t\r\n") == std::string_view::npos)
      return make_error(ErrorCode::method_parameter_invalid_value, "'say:' has no text to speak");
    s.kind = Sound::Kind::say;
    s.target = std::string(t);
    return s;
  }
  if (text.starts_with("silence:")) {
    auto secs = seconds_of(after(text, "silence:"), text);
    if (!secs) return secs.error();
    s.kind = Sound::Kind::silence;
    s.seconds = *secs;
    return s;
  }
  if (text.starts_with("ring:")) {
    std::string_view rest = after(text, "ring:");
    s.kind = Sound::Kind::ring;
    if (auto colon = rest.find(':'); colon != std::string_view::npos) {
      auto secs = seconds_of(rest.substr(0, colon), text);
      if (!secs) return secs.error();
      s.seconds = *secs;
      rest = after(rest.substr(colon), ":");
    }
    std::string country(rest);
    std::transform(country.begin(), country.end(), country.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!ring_cadence(country))
      return make_error(ErrorCode::method_parameter_invalid_value,
                        "'" + std::string(text) + "': unknown ring country '" + country + "'");
    s.target = std::move(country);
    return s;
  }
  return make_error(ErrorCode::method_parameter_invalid_value,
                    "'" + std::string(text) +
                        "' is not a playable sound (say:, silence:, ring:, http(s):// or file:)");
}

// ---- AudioCache ---------------------------------------------------------------------------

ClipPtr AudioCache::get(const std::string& key, std::int64_t version) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    ++misses_;
    return nullptr;
  }
  if (it->second.version != version || Clock::now() >= it->second.expires) {
    erase(it);
    ++misses_;
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  ++hits_;
  return it->second.clip;
}

void AudioCache::put(const std::string& key, ClipPtr clip, Clock::time_point expires,
                     std::int64_t version) {
  if (!clip || clip->bytes() > max_bytes_) return;
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(key); it != entries_.end()) erase(it);
  lru_.push_front(key);
  bytes_ += clip->bytes();
  entries_.emplace(key, Entry{std::move(clip), expires, version, lru_.begin()});
  while (bytes_ > max_bytes_ && !lru_.empty()) erase(entries_.find(lru_.back()));
}

void AudioCache::erase(std::unordered_map<std::string, Entry>::iterator it) {
  bytes_ -= it->second.clip->bytes();
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

std::size_t AudioCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}
std::size_t AudioCache::entries() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}
std::uint64_t AudioCache::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}
std::uint64_t AudioCache::misses() const {
  std::lock_guard lock(mu_);
  return misses_;
}

// ---- AudioLoader --------------------------------------------------------------------------

AudioLoader::AudioLoader(const MediaConfig& config, Fetcher fetcher)
    : config_(config),
      fetcher_(std::move(fetcher)),
      cache_(config.cache_bytes),
      workers_(std::make_unique<WorkerPool>(config.workers, config.max_jobs, "swmld-audio")) {}

AudioLoader::~AudioLoader() {
  workers_.reset();
}

std::uint64_t AudioLoader::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

void AudioLoader::load(const Sound& sound, const Voice& voice, Done done) {
  switch (sound.kind) {
    case Sound::Kind::silence:
      done(load_error("silence has no audio to load"));
      return;
    case Sound::Kind::file:
      load_file(sound, std::move(done));
      return;
    case Sound::Kind::url: {
      std::string key = "url:" + sound.target;
      if (ClipPtr clip = cache_.get(key)) return done(clip);
      load_once(key, std::move(done),
                [this, key, url = sound.target](Done) { load_url(key, url); });
      return;
    }
    case Sound::Kind::say: {
      std::string flite = tts_.voice_for(voice.say_voice, voice.say_language, voice.say_gender);
      std::string key = "say:" + flite + '\n' + voice.say_language + '\n' + sound.target;
      if (ClipPtr clip = cache_.get(key)) return done(clip);
      load_once(key, std::move(done), [this, key, text = sound.target, voice](Done fail) {
        bool queued = workers_->post([this, key, text, voice] {
          auto speech = tts_.speak(text, voice.say_voice, voice.say_language, voice.say_gender);
          if (!speech) return finish(key, speech.error(), 0);
          if (!speech->warning.empty()) spdlog::warn("media: {}", speech->warning);
          finish(key, make_clip(std::move(speech->pcm)), std::numeric_limits<double>::infinity());
        });
        if (!queued) fail(load_error("media workers are overloaded"));
      });
      return;
    }
    case Sound::Kind::ring: {
      std::string key = "ring:" + sound.target;
      if (ClipPtr clip = cache_.get(key)) return done(clip);
      load_once(key, std::move(done), [this, key, country = sound.target](Done fail) {
        bool queued = workers_->post([this, key, country] {
          auto tone = ring_tone(country, 0);  // one cadence cycle; the stream loops it
          if (!tone) return finish(key, tone.error(), 0);
          finish(key, make_clip(std::move(*tone)), std::numeric_limits<double>::infinity());
        });
        if (!queued) fail(load_error("media workers are overloaded"));
      });
      return;
    }
  }
}

void AudioLoader::load_once(const std::string& key, Done done, std::function<void(Done)> start) {
  {
    std::lock_guard lock(mu_);
    auto [it, first] = loading_.try_emplace(key);
    it->second.push_back(std::move(done));
    if (!first) return;  // somebody is loading it: wait for that
  }
  start([this, key](Result<ClipPtr> failed) { finish(key, std::move(failed), 0); });
}

void AudioLoader::finish(const std::string& key, Result<ClipPtr> result, double cache_s,
                         std::int64_t version) {
  if (result && cache_s > 0) {
    auto expires =
        cache_s == std::numeric_limits<double>::infinity()
            ? Clock::time_point::max()
            : Clock::now() + std::chrono::milliseconds(static_cast<long long>(cache_s * 1000));
    cache_.put(key, *result, expires, version);
  }
  std::vector<Done> waiting;
  {
    std::lock_guard lock(mu_);
    if (!result) ++failures_;
    if (auto it = loading_.find(key); it != loading_.end()) {
      waiting = std::move(it->second);
      loading_.erase(it);
    }
  }
  for (auto& done : waiting) done(result);
}

void AudioLoader::load_url(const std::string& key, const std::string& url) {
  if (!fetcher_)
    return finish(key, load_error("cannot fetch " + mask_credentials(url) + ": no HTTP client"), 0);
  fetcher_(url, config_.max_file_bytes, [this, key, url](FetchResult r) {
    // On the HTTP thread: only hand over to a worker.
    std::string shown = mask_credentials(url);
    if (!r.error.empty())
      return finish(key, load_error("cannot fetch " + shown + ": " + r.error), 0);
    if (r.status < 200 || r.status >= 300)
      return finish(key, load_error("cannot fetch " + shown + ": HTTP " + std::to_string(r.status)),
                    0);
    double cache_s = r.max_age_s < 0 ? kDefaultHttpCacheSeconds : r.max_age_s;
    auto body = std::make_shared<std::string>(std::move(r.body));
    bool queued = workers_->post([this, key, shown, body, cache_s] {
      DecodeLimits limits;
      limits.max_seconds = config_.max_sound_seconds;
      auto pcm = decode_audio(*body, shown, limits);
      if (!pcm) return finish(key, pcm.error(), 0);
      finish(key, make_clip(std::move(*pcm)), cache_s);
    });
    if (!queued) finish(key, load_error("media workers are overloaded"), 0);
  });
}

void AudioLoader::load_file(const Sound& sound, Done done) {
  auto job = [this, path = sound.target, done]() mutable {
    namespace fs = std::filesystem;
    if (config_.media_root.empty())
      return done(load_error("'file:" + path + "': local files are off (media.root is not set)"));
    std::error_code ec;
    fs::path root = fs::canonical(config_.media_root, ec);
    if (ec) return done(load_error("media.root " + config_.media_root + ": " + ec.message()));
    fs::path wanted = fs::path(path).is_absolute() ? fs::path(path) : root / path;
    fs::path real = fs::canonical(wanted, ec);
    if (ec) return done(load_error("'file:" + path + "': " + ec.message()));
    auto [end, _] = std::mismatch(root.begin(), root.end(), real.begin(), real.end());
    if (end != root.end())
      return done(load_error("'file:" + path + "' is outside media.root (" + root.string() + ")"));
    struct stat st {};
    if (::stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      return done(load_error("'file:" + path + "' is not a regular file"));
    if (static_cast<std::size_t>(st.st_size) > config_.max_file_bytes)
      return done(load_error("'file:" + path + "' is larger than media.max_file_bytes (" +
                             std::to_string(config_.max_file_bytes) + ")"));
    std::string key = "file:" + real.string();
    // The cached clip is good while the file keeps its modification time and size.
    std::int64_t version = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 +
                           st.st_mtim.tv_nsec + static_cast<std::int64_t>(st.st_size) * 31;
    if (ClipPtr clip = cache_.get(key, version)) return done(clip);
    std::ifstream in(real, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (!in) return done(load_error("'file:" + path + "': cannot read it"));
    DecodeLimits limits;
    limits.max_seconds = config_.max_sound_seconds;
    auto pcm = decode_audio(bytes.str(), "file:" + path, limits);
    if (!pcm) return done(pcm.error());
    ClipPtr clip = make_clip(std::move(*pcm));
    cache_.put(key, clip, Clock::time_point::max(), version);
    done(clip);
  };
  if (!workers_->post(std::move(job))) done(load_error("media workers are overloaded"));
}

}  // namespace swmld::media
