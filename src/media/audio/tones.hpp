// Call-progress tones: national ringback cadences (ring:[seconds:]cc, swml-reference §8)
// generated with spandsp's tone generator. Any thread (the worker pool renders them).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "swmld/core/error.hpp"

namespace swmld::media {

struct RingCadence {
  const char* country;  // lower-case code as SWML writes it ("us", "uk", "gb", "de", ...)
  int freq1_hz, freq2_hz;  // freq2 0: a single tone; negative: amplitude modulation (f1 x f2)
  int level_dbm0;
  int on1_ms, off1_ms, on2_ms, off2_ms;  // on2 0: a single on/off pair per cycle
};

// The cadence of `country` (case-insensitive), or nullptr when unknown.
const RingCadence* ring_cadence(std::string_view country);
// Every country known, for docs and errors.
std::vector<std::string> ring_countries();

// 8 kHz samples of ringback: one cadence cycle when seconds <= 0, else exactly `seconds`.
// Errors: an unknown country (the message lists the known ones), more than 3600 s.
Result<std::vector<std::int16_t>> ring_tone(std::string_view country, double seconds);

}  // namespace swmld::media
