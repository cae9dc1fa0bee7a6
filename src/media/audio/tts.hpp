// Text to speech with Flite (linked in; BSD-style licence), rendered to 8 kHz samples.
// SWML voice strings (say_voice "engine.voice[:model]" such as Polly.Salli, and say_gender /
// say_language) are mapped to the Flite voices Debian ships (docs/swml-coverage.md has the
// table). Flite's synthesis shares state between calls, so speak() is serialised; it runs
// on the worker pool only.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "swmld/core/error.hpp"

namespace swmld::media {

struct Speech {
  std::vector<std::int16_t> pcm;  // 8 kHz mono
  std::string voice;              // the Flite voice used ("slt", "kal", "awb", "rms")
  std::string warning;            // e.g. "say_language 'de-DE' is not supported: spoken in en-US"
};

class Tts {
 public:
  Tts();  // registers the Flite voices once per process
  // The Flite voice a say_voice / say_language / say_gender triple maps to (no synthesis):
  // part of the cache key, so two spellings of the same voice share a rendering.
  std::string voice_for(const std::string& say_voice, const std::string& say_language,
                        const std::string& say_gender, std::string* warning = nullptr) const;
  // Errors: empty text, text longer than max_chars, synthesis failure.
  Result<Speech> speak(const std::string& text, const std::string& say_voice,
                       const std::string& say_language, const std::string& say_gender);

  static constexpr std::size_t max_chars = 4000;

 private:
  std::mutex mu_;  // Flite is not re-entrant
};

}  // namespace swmld::media
