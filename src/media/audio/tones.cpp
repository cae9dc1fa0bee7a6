// National ringback tones: one table of cadences and spandsp's cadenced tone generator.
// Values from the national plans (ITU-T E.180 supplement 2, operators' specifications);
// where a country has several (old and new exchanges), the common one is listed.
#include "tones.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>
#include <utility>

// telephony.h first: tone_generate.h uses its SPAN_DECLARE without including it.
// clang-format off
#include <spandsp/telephony.h>
#include <spandsp/tone_generate.h>
// clang-format on

namespace swmld::media {
namespace {

// Carrier-and-envelope tones (freq2 < 0) use this modulation depth, in percent; spandsp
// takes it where a second tone would take its level.
constexpr int kAmDepthPercent = 90;

constexpr int kSingle = -13;  // dBm0 of a single tone
constexpr int kPair = -16;    // dBm0 of each tone of a pair (the sum is about -13 dBm0)
constexpr int kAm = -16;      // dBm0 of a modulated carrier (with its sidebands about -14)

// Hz (freq2: 0 none, < 0 modulating frequency), dBm0, on/off/on/off in ms.
constexpr RingCadence kCadences[] = {
    {"at", 420, 0, kSingle, 1000, 5000, 0, 0},
    {"au", 425, -25, kAm, 400, 200, 400, 2000},
    {"be", 425, 0, kSingle, 1000, 3000, 0, 0},
    {"bg", 425, 0, kSingle, 1000, 4000, 0, 0},
    {"br", 425, 0, kSingle, 1000, 4000, 0, 0},
    {"ch", 425, 0, kSingle, 1000, 4000, 0, 0},
    {"cl", 400, 0, kSingle, 1000, 3000, 0, 0},
    {"cn", 450, 0, kSingle, 1000, 4000, 0, 0},
    {"cz", 425, 0, kSingle, 1000, 4000, 0, 0},
    {"de", 425, 0, kSingle, 1000, 4000, 0, 0},
    {"dk", 425, 0, kSingle, 1000, 4000, 0, 0},
    {"ee", 425, 0, kSingle, 1000, 4000, 0, 0},
    {"es", 425, 0, kSingle, 1500, 3000, 0, 0},
    {"fi", 425, 0, kSingle, 1000, 4000, 0, 0},
    {"fr", 440, 0, kSingle, 1500, 3500, 0, 0},
    {"gr", 425, 0, kSingle, 1000, 4000, 0, 0},
    {"hu", 425, 0, kSingle, 1250, 3750, 0, 0},
    {"il", 414, 0, kSingle, 1000, 3000, 0, 0},
    {"in", 400, -25, kAm, 400, 200, 400, 2000},
    {"it", 425, 0, kSingle, 1000, 4000, 0, 0},
    {"jp", 400, -16, kAm, 1000, 2000, 0, 0},
    {"lt", 425, 0, kSingle, 1000, 4000, 0, 0},
    {"mx", 425, 0, kSingle, 1000, 4000, 0, 0},
    {"my", 425, 0, kSingle, 400, 200, 400, 2000},
    {"nl", 425, 0, kSingle, 1000, 4000, 0, 0},
    {"no", 425, 0, kSingle, 1000, 4000, 0, 0},
    {"nz", 400, 450, kPair, 400, 200, 400, 2000},
    {"ph", 425, 480, kPair, 1000, 4000, 0, 0},
    {"pl", 425, 0, kSingle, 1000, 4000, 0, 0},
    {"pt", 425, 0, kSingle, 1000, 5000, 0, 0},
    {"ru", 425, 0, kSingle, 1000, 4000, 0, 0},
    {"se", 425, 0, kSingle, 1000, 5000, 0, 0},
    {"sg", 425, -24, kAm, 400, 200, 400, 2000},
    {"th", 420, 0, kSingle, 1000, 5000, 0, 0},
    {"tw", 440, 480, kPair, 1000, 2000, 0, 0},
    {"uk", 400, 450, kPair, 400, 200, 400, 2000},
    {"us", 440, 480, kPair, 2000, 4000, 0, 0},
    {"us-old", 420, -40, kAm, 2000, 4000, 0, 0},  // electromechanical-era ringback
    {"ve", 425, 0, kSingle, 1000, 4000, 0, 0},
    {"za", 400, -33, kAm, 400, 200, 400, 2000},
};

// Other spellings SWML documents use, and the code they mean.
constexpr std::pair<const char*, const char*> kAliases[] = {{"gb", "uk"}};

constexpr double kMaxSeconds = 3600;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int cycle_ms(const RingCadence& c) {
  return c.on1_ms + c.off1_ms + c.on2_ms + c.off2_ms;
}

struct ToneGenFree {
  void operator()(tone_gen_state_t* s) const { tone_gen_free(s); }
};
struct ToneDescFree {
  void operator()(tone_gen_descriptor_t* d) const { tone_gen_descriptor_free(d); }
};

}  // namespace

const RingCadence* ring_cadence(std::string_view country) {
  std::string cc = lower(country);
  for (const auto& [alias, code] : kAliases) {
    if (cc == alias) cc = code;
  }
  for (const auto& c : kCadences) {
    if (cc == c.country) return &c;
  }
  return nullptr;
}

std::vector<std::string> ring_countries() {
  std::vector<std::string> out;
  for (const auto& c : kCadences) out.emplace_back(c.country);
  for (const auto& a : kAliases) out.emplace_back(a.first);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<std::int16_t>> ring_tone(std::string_view country, double seconds) {
  const RingCadence* c = ring_cadence(country);
  if (c == nullptr) {
    std::string known;
    for (const auto& k : ring_countries()) known += (known.empty() ? "" : ", ") + k;
    return make_error(ErrorCode::method_parameter_invalid_value,
                      "unknown ring country '" + std::string(country) + "' (known: " + known + ")");
  }
  if (std::isnan(seconds) || seconds > kMaxSeconds) {
    return make_error(ErrorCode::method_parameter_invalid_value,
                      "ring duration " + std::to_string(seconds) + " s is over the limit of " +
                          std::to_string(static_cast<int>(kMaxSeconds)) + " s");
  }
  const bool one_cycle = seconds <= 0;
  const auto samples = one_cycle ? static_cast<std::size_t>(cycle_ms(*c)) * 8
                                 : static_cast<std::size_t>(std::lround(seconds * 8000));

  // spandsp ends a cadence at the first zero duration, so a single on/off pair leaves
  // on2/off2 at 0. With repeat set, the generator cycles for as long as it is asked.
  const bool am = c->freq2_hz < 0;
  const int level2 = am ? kAmDepthPercent : c->level_dbm0;
  std::unique_ptr<tone_gen_descriptor_t, ToneDescFree> desc(
      tone_gen_descriptor_init(nullptr, c->freq1_hz, c->level_dbm0, c->freq2_hz, level2, c->on1_ms,
                               c->off1_ms, c->on2_ms, c->off2_ms, one_cycle ? 0 : 1));
  std::unique_ptr<tone_gen_state_t, ToneGenFree> gen(tone_gen_init(nullptr, desc.get()));
  if (!desc || !gen) return make_error(ErrorCode::internal_error, "tone generator: out of memory");

  std::vector<std::int16_t> out(samples);
  std::size_t done = 0;
  while (done < samples) {
    int want = static_cast<int>(std::min<std::size_t>(samples - done, 8000));
    int got = tone_gen(gen.get(), out.data() + done, want);
    if (got <= 0) break;  // one cycle over (cannot happen with repeat)
    done += static_cast<std::size_t>(got);
  }
  out.resize(done);
  return out;
}

}  // namespace swmld::media
