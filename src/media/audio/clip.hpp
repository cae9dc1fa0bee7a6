// Decoded audio as the media threads play it: 8 kHz mono samples, encoded to both G.711
// laws once when the clip is made, so a stream playing at 0 dB copies bytes and encodes
// nothing. Immutable once made and shared between every call that plays it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace swmld::media {

inline constexpr int kSampleRate = 8000;

struct Clip {
  std::vector<std::int16_t> pcm;   // 8 kHz mono, linear 16-bit
  std::vector<std::uint8_t> ulaw;  // pcm as G.711 mu-law (PCMU)
  std::vector<std::uint8_t> alaw;  // pcm as G.711 A-law (PCMA)

  std::size_t samples() const { return pcm.size(); }
  double seconds() const { return static_cast<double>(pcm.size()) / kSampleRate; }
  std::size_t bytes() const { return pcm.size() * (sizeof(std::int16_t) + 2); }
};

using ClipPtr = std::shared_ptr<const Clip>;

// Encodes `pcm` to both laws and wraps it (any thread; the worker pool makes clips).
ClipPtr make_clip(std::vector<std::int16_t> pcm);

}  // namespace swmld::media
