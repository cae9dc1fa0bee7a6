// Flite speech: plausible renderings at 8 kHz, the text limits, and how SWML voice,
// language and gender strings map onto Debian's four Flite voices.
#include <gtest/gtest.h>

#include <string>

#include "media/audio/tts.hpp"
#include "unit/media/audio_signal.hpp"

namespace swmld::media {
namespace {

double seconds(const std::vector<std::int16_t>& pcm) {
  return pcm.size() / 8000.0;
}

TEST(AudioTts, HelloWorldIsAboutASecondOfSpeech) {
  Tts tts;
  auto speech = tts.speak("Hello world", "", "", "");
  ASSERT_TRUE(speech) << speech.error().message;
  EXPECT_EQ(speech->voice, "slt");
  EXPECT_EQ(speech->warning, "");
  EXPECT_GE(seconds(speech->pcm), 0.5);
  EXPECT_LE(seconds(speech->pcm), 3.0);
  EXPECT_GT(test::rms(speech->pcm), 300);
}

TEST(AudioTts, LongerTextIsLonger) {
  Tts tts;
  auto short_one = tts.speak("Hello world", "", "", "");
  auto long_one = tts.speak(
      "Hello world. Thank you for calling. Please hold while we connect your call.", "", "", "");
  ASSERT_TRUE(short_one);
  ASSERT_TRUE(long_one);
  EXPECT_GT(seconds(long_one->pcm), 2 * seconds(short_one->pcm));
}

TEST(AudioTts, EveryFliteVoiceSpeaksAt8kHz) {
  // kal is an 8 kHz voice, the others 16 kHz: each comes out at 8 kHz with a similar
  // length (a different rate left unconverted would halve or double it).
  Tts tts;
  for (const char* voice : {"slt", "kal", "awb", "rms"}) {
    SCOPED_TRACE(voice);
    auto speech = tts.speak("Good morning, this is a test.", voice, "en-US", "");
    ASSERT_TRUE(speech) << speech.error().message;
    EXPECT_EQ(speech->voice, voice);
    EXPECT_GE(seconds(speech->pcm), 1.0);
    EXPECT_LE(seconds(speech->pcm), 4.0);
    EXPECT_GT(test::rms(speech->pcm), 300);
  }
}

TEST(AudioTts, EmptyOrBlankTextIsRefused) {
  Tts tts;
  for (const char* text : {"", "   ", " \t\n "}) {
    auto speech = tts.speak(text, "", "", "");
    ASSERT_FALSE(speech);
    EXPECT_EQ(speech.error().code, ErrorCode::method_parameter_invalid_value);
    EXPECT_EQ(speech.error().message, "say: empty text");
  }
}

TEST(AudioTts, TextOverTheLimitIsRefused) {
  Tts tts;
  auto speech = tts.speak(std::string(Tts::max_chars + 1, 'a'), "", "", "");
  ASSERT_FALSE(speech);
  EXPECT_EQ(speech.error().message, "say: 4001 characters is over the limit of 4000");
}

TEST(AudioTts, UnsupportedLanguageIsSpokenInEnglishWithAWarning) {
  Tts tts;
  auto speech = tts.speak("Guten Tag", "Polly.Marlene", "de-DE", "");
  ASSERT_TRUE(speech) << speech.error().message;
  EXPECT_EQ(speech->voice, "slt");
  EXPECT_EQ(speech->warning, "say_language 'de-DE' is not supported by Flite: spoken in en-US");
  EXPECT_GT(seconds(speech->pcm), 0.3);
}

struct VoiceCase {
  const char* say_voice;
  const char* say_language;
  const char* say_gender;
  const char* voice;
  const char* warning;
};

TEST(AudioTts, VoiceMapping) {
  const VoiceCase cases[] = {
      // Flite's own names, bare or with the engine prefix, whatever the gender says.
      {"slt", "", "", "slt", ""},
      {"kal", "", "female", "kal", ""},
      {"awb", "en-GB", "", "awb", ""},
      {"RMS", "", "", "rms", ""},
      {"flite.slt", "", "male", "slt", ""},
      {"Flite.kal", "", "", "kal", ""},
      // Cloud voice names by gender; the model suffix and case do not matter.
      {"Polly.Salli", "", "", "slt", ""},
      {"polly.Joanna", "en-US", "", "slt", ""},
      {"amazon.Joanna-Neural", "", "", "slt", ""},
      {"Polly.Kimberly:neural", "", "", "slt", ""},
      {"Polly.Amy", "en-GB", "", "slt", ""},
      {"Polly.Raveena", "en-IN", "male", "slt", ""},
      {"Polly.Matthew", "", "", "rms", ""},
      {"polly.joey-neural", "", "female", "rms", ""},
      {"Polly.Brian", "en-GB", "", "rms", ""},
      {"Polly.Russell", "en-AU", "", "rms", ""},
      // No voice: by gender, female by default.
      {"", "", "", "slt", ""},
      {"", "", "female", "slt", ""},
      {"", "", "male", "rms", ""},
      {"", "en", "MALE", "rms", ""},
      // Voices with no Flite equivalent: by gender, with a warning.
      {"gcloud.en-US-Neural2-A", "", "", "slt",
       "say_voice 'gcloud.en-US-Neural2-A' is not available: spoken with slt (female)"},
      {"elevenlabs.rachel", "", "male", "rms",
       "say_voice 'elevenlabs.rachel' is not available: spoken with rms (male)"},
      {"Polly.kal", "", "", "slt",
       "say_voice 'Polly.kal' is not available: spoken with slt (female)"},
      // English variants are spoken; other languages warn.
      {"", "en-AU", "", "slt", ""},
      {"", "en_GB", "", "slt", ""},
      {"", "EN-us", "", "slt", ""},
      {"", "fr-FR", "male", "rms",
       "say_language 'fr-FR' is not supported by Flite: spoken in en-US"},
      {"Polly.Celine", "fr-FR", "", "slt",
       "say_language 'fr-FR' is not supported by Flite: spoken in en-US"},
      {"gcloud.de-DE-Wavenet-A", "de-DE", "", "slt",
       "say_voice 'gcloud.de-DE-Wavenet-A' is not available: spoken with slt (female); "
       "say_language 'de-DE' is not supported by Flite: spoken in en-US"},
  };
  Tts tts;
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.say_voice) + " / " + c.say_language + " / " + c.say_gender);
    std::string warning = "stale";
    EXPECT_EQ(tts.voice_for(c.say_voice, c.say_language, c.say_gender, &warning), c.voice);
    EXPECT_EQ(warning, c.warning);
    EXPECT_EQ(tts.voice_for(c.say_voice, c.say_language, c.say_gender), c.voice);
  }
}

}  // namespace
}  // namespace swmld::media
