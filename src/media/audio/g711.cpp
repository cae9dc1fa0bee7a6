// G.711 through spandsp's inline coders (computed, not table look-ups: the tables would
// thrash the cache of a media thread that serves many calls), and gain with saturation.
#include "g711.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

// spandsp's g711.h uses top_bit() and SPAN_DECLARE without including their headers:
// telephony.h and bit_operations.h must come first.
// clang-format off
#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>
// clang-format on

namespace swmld::media {

void encode_g711(Law law, std::span<const std::int16_t> in, std::uint8_t* out) {
  if (law == Law::ulaw) {
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = linear_to_ulaw(in[i]);
  } else {
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = linear_to_alaw(in[i]);
  }
}

void decode_g711(Law law, std::span<const std::uint8_t> in, std::int16_t* out) {
  if (law == Law::ulaw) {
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = ulaw_to_linear(in[i]);
  } else {
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = alaw_to_linear(in[i]);
  }
}

std::uint8_t g711_silence(Law law) {
  return law == Law::ulaw ? 0xFF : 0xD5;
}

void transcode_g711(Law from, Law to, std::span<const std::uint8_t> in, std::uint8_t* out) {
  if (from == to) {
    if (out != in.data()) std::memmove(out, in.data(), in.size());
  } else if (from == Law::ulaw) {
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = ulaw_to_alaw(in[i]);
  } else {
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = alaw_to_ulaw(in[i]);
  }
}

double gain_factor(double db) {
  return std::pow(10.0, db / 20.0);
}

void apply_gain(std::span<const std::int16_t> in, double factor, std::int16_t* out) {
  // Rounded to nearest, then clipped: a loud clip at +40 dB saturates instead of wrapping.
  for (std::size_t i = 0; i < in.size(); ++i) {
    double v = std::nearbyint(in[i] * factor);
    out[i] = static_cast<std::int16_t>(std::clamp(v, -32768.0, 32767.0));
  }
}

}  // namespace swmld::media
