// Playable sounds (swml-reference §8) and where their audio comes from: `parse_sound` reads
// the SWML form; `AudioLoader` turns a sound into a shared clip through the audio cache,
// loading what is missing once (however many calls ask at the same time) on the worker
// pool: HTTP(S) files through the injected fetcher, local files under media.root, speech
// from Flite, ringback from the cadence tables. Silence needs no clip.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "audio/clip.hpp"
#include "audio/tts.hpp"
#include "swmld/core/error.hpp"
#include "swmld/media/service.hpp"
#include "worker_pool.hpp"

namespace swmld::media {

struct Sound {
  enum class Kind { url, file, say, silence, ring };
  Kind kind = Kind::silence;
  std::string target;  // url: the URL; file: the path as written; say: the text; ring: country
  double seconds = 0;  // silence: its length; ring: how long (0: one cadence cycle)
};

// "http(s)://…", "file:PATH" (swmld's extension: a file under media.root), "say:TEXT" /
// "say: TEXT", "silence:SECONDS", "ring:CC" or "ring:SECONDS:CC". Errors say what is wrong.
Result<Sound> parse_sound(std::string_view text);

struct Voice {
  std::string say_voice, say_language, say_gender;
};

// Decoded clips by key, least recently used out past `max_bytes`; an entry may expire (HTTP
// max-age) or be checked against its file's mtime. Thread-safe.
class AudioCache {
 public:
  explicit AudioCache(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  // nullptr when absent, expired, or `version` differs from what was stored.
  ClipPtr get(const std::string& key, std::int64_t version = 0);
  // Keeps `clip` (unless it alone exceeds the limit) until `expires` (max(): never).
  void put(const std::string& key, ClipPtr clip, std::chrono::steady_clock::time_point expires,
           std::int64_t version = 0);
  std::size_t bytes() const;
  std::size_t entries() const;
  std::uint64_t hits() const;
  std::uint64_t misses() const;

 private:
  struct Entry {
    ClipPtr clip;
    std::chrono::steady_clock::time_point expires;
    std::int64_t version;
    std::list<std::string>::iterator lru;
  };
  void erase(std::unordered_map<std::string, Entry>::iterator it);

  mutable std::mutex mu_;
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::uint64_t hits_ = 0, misses_ = 0;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // front: most recently used
};

class AudioLoader {
 public:
  using Done = std::function<void(Result<ClipPtr>)>;

  AudioLoader(const MediaConfig& config, Fetcher fetcher);
  ~AudioLoader();  // stops the workers first: no job outlives the loader

  // Any thread. `done` runs once on any thread: inline when the clip is cached, else on a
  // worker or the HTTP thread. Never call it for silence.
  void load(const Sound& sound, const Voice& voice, Done done);

  const AudioCache& cache() const { return cache_; }
  std::uint64_t failures() const;
  std::size_t jobs_queued() const { return workers_ ? workers_->queued() : 0; }

 private:
  // Calls `start` unless the same key is being loaded already; either way `done` runs when
  // that load finishes. `start` gets a function that fails the load (a full worker queue).
  void load_once(const std::string& key, Done done, std::function<void(Done)> start);
  void finish(const std::string& key, Result<ClipPtr> result, double cache_s,
              std::int64_t version = 0);
  void load_url(const std::string& key, const std::string& url);
  void load_file(const Sound& sound, Done done);

  const MediaConfig& config_;
  Fetcher fetcher_;
  Tts tts_;
  AudioCache cache_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Done>> loading_;  // key -> who waits for it
  std::uint64_t failures_ = 0;
  std::unique_ptr<WorkerPool> workers_;  // last: destroyed (joined) first
};

}  // namespace swmld::media
