// Audio files to 8 kHz mono 16-bit samples: libsndfile reads the bytes (WAV, AIFF, FLAC,
// OGG/Vorbis, Opus, MP3 with Debian's libsndfile 1.2) from memory, channels are mixed down,
// libsoxr resamples to 8 kHz. Pure CPU work for the worker pool: never on a media tick or
// the SIP thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "swmld/core/error.hpp"

namespace swmld::media {

struct DecodeLimits {
  double max_seconds = 600;  // longer files are refused before they are decoded
};

// Decodes a whole file held in memory. `name` (a URL or path) only appears in errors.
// Errors: not an audio format libsndfile knows, corrupt data, longer than the limit.
Result<std::vector<std::int16_t>> decode_audio(std::string_view bytes, const std::string& name,
                                               const DecodeLimits& limits = {});

// Mono float samples at `rate` Hz to 8 kHz 16-bit (soxr, high quality), saturated.
// rate == 8000 only converts.
std::vector<std::int16_t> resample_to_8k(const std::vector<float>& mono, int rate);

}  // namespace swmld::media
