// Measurements the audio tests share: the amplitude of one frequency (Goertzel) and RMS.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>

namespace swmld::media::test {

// The amplitude (in sample units) of the `hz` component of x, sampled at `rate`: a sine
// of amplitude A at that frequency gives about A.
inline double tone_amplitude(std::span<const std::int16_t> x, double hz, int rate = 8000) {
  const double w = 2 * std::numbers::pi * hz / rate;
  const double coeff = 2 * std::cos(w);
  double s1 = 0, s2 = 0;
  for (std::int16_t v : x) {
    double s0 = v + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return 2 * std::sqrt(std::max(power, 0.0)) / static_cast<double>(x.size());
}

inline double rms(std::span<const std::int16_t> x) {
  double sum = 0;
  for (std::int16_t v : x) sum += static_cast<double>(v) * v;
  return x.empty() ? 0 : std::sqrt(sum / static_cast<double>(x.size()));
}

// The peak amplitude of a full-scale-referenced sine at `dbm0` (G.711: a sine at +3.14 dBm0
// reaches full scale).
inline double dbm0_amplitude(double dbm0) {
  return 32768 * std::pow(10, (dbm0 - 3.14) / 20);
}

}  // namespace swmld::media::test
