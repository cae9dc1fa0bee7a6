// G.711 (mu-law and A-law) and gain, through spandsp's tables. Any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace swmld::media {

enum class Law { ulaw, alaw };  // PCMU (payload type 0), PCMA (8)

void encode_g711(Law law, std::span<const std::int16_t> in, std::uint8_t* out);
void decode_g711(Law law, std::span<const std::uint8_t> in, std::int16_t* out);
std::uint8_t g711_silence(Law law);  // the code of a zero sample (0xFF mu-law, 0xD5 A-law)
// PCMU <-> PCMA code by code (G.711's own conversion tables, through spandsp); a copy when
// the laws are the same. `out` may alias `in`.
void transcode_g711(Law from, Law to, std::span<const std::uint8_t> in, std::uint8_t* out);

// The linear factor of a gain in dB (volume -40..40): 10^(db/20).
double gain_factor(double db);
// in * factor, saturated to 16 bits, into out (may alias in).
void apply_gain(std::span<const std::int16_t> in, double factor, std::int16_t* out);

}  // namespace swmld::media
