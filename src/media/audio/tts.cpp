// Text to speech with Flite, and the mapping of SWML's cloud voice names onto the four
// voices Debian ships. Runs on the worker pool; synthesis is serialised by Tts::mu_.
//
// Voice mapping (say_voice is "engine.name[-variant][:model]", case-insensitive; cloud
// names count with any engine prefix or none; the first rule that applies wins):
//
//   say_voice                                  Flite voice
//   -----------------------------------------  -------------------------------------------
//   slt, kal, awb, rms, flite.<one of them>    that voice (say_gender is ignored)
//   a female name: Polly.Salli, polly.Joanna,  slt
//     amazon.Joanna-Neural, Kimberly, Kendra,
//     Ivy, Ruth, Danielle, Amy, Emma, Nicole,
//     Olivia, Raveena, Aditi, Kajal, Aria, ...
//   a male name: Matthew, Joey, Justin, Kevin, rms
//     Stephen, Gregory, Brian, Arthur, Russell,
//     Geraint, ...
//   empty                                      say_gender "male": rms; else (default) slt
//   anything else: gcloud.en-US-Neural2-A,     as for empty, with the warning "say_voice
//     elevenlabs.<id>, an unknown name           '<v>' is not available: spoken with slt
//                                                (female)" (or "rms (male)")
//
//   slt: US English female (16 kHz)     rms: US English male (16 kHz)
//   awb: Scottish English male (16 kHz) kal: US English male (8 kHz diphone, plainer)
//
// say_language: empty, "en" and any "en-XX"/"en_XX" are spoken as they are; any other
// language is spoken in en-US with the warning "say_language '<lang>' is not supported by
// Flite: spoken in en-US" (after the voice warning, joined by "; ", when both apply).
//
// Flite's state is process-wide while Tts::mu_ is per instance: the process makes one Tts
// (the composition root owns it).
#include "tts.hpp"

#include <flite/flite.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <csetjmp>
#include <string_view>

#include "decode.hpp"

extern "C" {
cst_voice* register_cmu_us_kal(const char* voxdir);
cst_voice* register_cmu_us_slt(const char* voxdir);
cst_voice* register_cmu_us_awb(const char* voxdir);
cst_voice* register_cmu_us_rms(const char* voxdir);
}

namespace swmld::media {
namespace {

// Flite's voices are process-wide C state; they are registered once, on first use, and
// live until exit (reachable, so not a leak to LeakSanitizer).
struct FliteVoices {
  cst_voice* kal = nullptr;
  cst_voice* slt = nullptr;
  cst_voice* awb = nullptr;
  cst_voice* rms = nullptr;

  cst_voice* get(std::string_view name) const {
    if (name == "kal") return kal;
    if (name == "awb") return awb;
    if (name == "rms") return rms;
    return slt;
  }
};

const FliteVoices& flite_voices() {
  static std::once_flag once;
  static FliteVoices voices;
  std::call_once(once, [] {
    flite_init();
    voices.kal = register_cmu_us_kal(nullptr);
    voices.slt = register_cmu_us_slt(nullptr);
    voices.awb = register_cmu_us_awb(nullptr);
    voices.rms = register_cmu_us_rms(nullptr);
  });
  return voices;
}

constexpr std::array<std::string_view, 4> kFliteNames = {"slt", "kal", "awb", "rms"};

// Voice names of the cloud engines (Amazon Polly for the most part), lower case.
constexpr std::string_view kFemale[] = {
    // English
    "salli", "joanna", "kimberly", "kendra", "ivy", "ruth", "danielle", "amy", "emma", "nicole",
    "olivia", "raveena", "aditi", "kajal", "aria", "ayanda", "niamh", "gwyneth", "alice", "woman",
    // other languages (spoken in English all the same)
    "celine", "lea", "chantal", "gabrielle", "vicki", "marlene", "conchita", "lucia", "lupe",
    "penelope", "mia", "carla", "bianca", "mizuki", "tomoko", "kazuha", "seoyeon", "zhiyu",
    "tatyana", "astrid", "liv", "naja", "lotte", "ewa", "maja", "ines", "vitoria", "camila",
    "carmen", "filiz", "dora", "hannah", "laura", "ida", "suvi", "elin", "hiujin", "sofie",
    "isabelle", "hala", "jitka", "sabrina", "lisa", "arlet"};
constexpr std::string_view kMale[] = {
    // English
    "matthew", "joey", "justin", "kevin", "stephen", "gregory", "brian", "arthur", "russell",
    "geraint", "man",
    // other languages
    "mathieu", "remi", "hans", "daniel", "enrique", "miguel", "andres", "sergio", "pedro",
    "giorgio", "adriano", "takumi", "maxim", "jacek", "jan", "cristiano", "ricardo", "thiago",
    "mads", "ruben", "karl", "liam", "zayd"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

template <typename List>
bool contains(const List& list, std::string_view name) {
  return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

bool is_english(const std::string& language) {
  std::string l = lower(language);
  return l.empty() || l == "en" || l.starts_with("en-") || l.starts_with("en_");
}

void add_warning(std::string* warning, const std::string& text) {
  if (warning == nullptr) return;
  if (!warning->empty()) *warning += "; ";
  *warning += text;
}

// Flite reports internal failures with cst_error(), which calls exit() unless cst_errjmp
// points at a jump buffer: catch them here. Only Flite's C frames lie between setjmp and
// longjmp; what Flite had allocated for that utterance is lost. Called under Tts::mu_.
cst_wave* synthesise(const char* text, cst_voice* voice) {
  std::jmp_buf env;
  cst_wave* volatile wave = nullptr;
  cst_errjmp = &env;
  if (setjmp(env) == 0) wave = flite_text_to_wave(text, voice);
  cst_errjmp = nullptr;
  return wave;
}

}  // namespace

Tts::Tts() {
  flite_voices();
}

std::string Tts::voice_for(const std::string& say_voice, const std::string& say_language,
                           const std::string& say_gender, std::string* warning) const {
  if (warning != nullptr) warning->clear();
  // "Polly.Joanna-Neural:generative" -> engine "polly", name "joanna"
  std::string v = lower(say_voice.substr(0, say_voice.find(':')));
  std::string engine, name = v;
  if (auto dot = v.find('.'); dot != std::string::npos) {
    engine = v.substr(0, dot);
    name = v.substr(dot + 1);
  }
  std::string base = name.substr(0, name.find('-'));  // "joanna-neural" -> "joanna"

  std::string voice;
  if ((engine.empty() || engine == "flite") && contains(kFliteNames, name)) {
    voice = name;
  } else if (contains(kFemale, base)) {
    voice = "slt";
  } else if (contains(kMale, base)) {
    voice = "rms";
  } else {
    std::string g = lower(say_gender);
    voice = (g == "male" || g == "man") ? "rms" : "slt";
    if (!say_voice.empty()) {
      add_warning(warning, "say_voice '" + say_voice + "' is not available: spoken with " + voice +
                               (voice == "rms" ? " (male)" : " (female)"));
    }
  }
  if (!is_english(say_language)) {
    add_warning(warning,
                "say_language '" + say_language + "' is not supported by Flite: spoken in en-US");
  }
  return voice;
}

Result<Speech> Tts::speak(const std::string& text, const std::string& say_voice,
                          const std::string& say_language, const std::string& say_gender) {
  bool blank = std::all_of(text.begin(), text.end(),
                           [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  if (blank) return make_error(ErrorCode::method_parameter_invalid_value, "say: empty text");
  if (text.size() > max_chars) {
    return make_error(ErrorCode::method_parameter_invalid_value,
                      "say: " + std::to_string(text.size()) + " characters is over the limit of " +
                          std::to_string(max_chars));
  }
  Speech speech;
  speech.voice = voice_for(say_voice, say_language, say_gender, &speech.warning);

  std::vector<float> samples;
  int rate = 0;
  {
    std::lock_guard lock(mu_);
    cst_wave* wave = synthesise(text.c_str(), flite_voices().get(speech.voice));
    if (wave != nullptr) {
      rate = wave->sample_rate;
      int channels = std::max(wave->num_channels, 1);  // Flite's voices are mono
      samples.reserve(static_cast<std::size_t>(std::max(wave->num_samples, 0)));
      for (int i = 0; i < wave->num_samples; ++i) {
        samples.push_back(static_cast<float>(wave->samples[i * channels]) / 32768.0f);
      }
      delete_wave(wave);
    }
  }
  if (samples.empty() || rate <= 0) {
    return make_error(ErrorCode::method_execute_failed,
                      "say: Flite could not synthesise the text with voice " + speech.voice);
  }
  speech.pcm = resample_to_8k(samples, rate);
  return speech;
}

}  // namespace swmld::media
