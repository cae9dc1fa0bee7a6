// media::validate: the checks of the rtp: and media: configuration keys. Apart from the
// service so that the configuration fuzzer (tests/fuzz/fuzz_config.cpp) links only this.
#include "sdp.hpp"
#include "swmld/media/service.hpp"

namespace swmld::media {
namespace {

// As the configuration reader words it: "config key 'rtp.ptime': ...".
Error config_error(const std::string& key, const std::string& message) {
  return make_error(ErrorCode::element_invalid_value, "config key '" + key + "': " + message);
}

}  // namespace

Status validate(const MediaConfig& c) {
  auto [first, last] = c.rtp_ports;
  if (first < 1024 || last > 65535 || last < first + 1 + first % 2)
    return config_error(
        "rtp.port_min/port_max",
        "need 1024 <= port_min < port_max <= 65535 with an even port and the one above it, got " +
            std::to_string(first) + "-" + std::to_string(last));
  if (c.codecs.empty()) return config_error("rtp.codecs", "at least one of PCMU, PCMA");
  for (const auto& codec : c.codecs)
    if (static_payload_type(codec) < 0)
      return config_error("rtp.codecs", "'" + codec + "' is not supported (PCMU, PCMA)");
  if (c.ptime_ms < 10 || c.ptime_ms > 60 || c.ptime_ms % 10)
    return config_error("rtp.ptime",
                        "10, 20, 30, 40, 50 or 60 ms, got " + std::to_string(c.ptime_ms));
  if (c.threads < 1 || c.threads > 64) return config_error("rtp.threads", "1 to 64");
  if (c.workers < 1 || c.workers > 64) return config_error("media.workers", "1 to 64");
  if (c.dtmf_duration_ms < 40 || c.dtmf_duration_ms > 8000)
    return config_error("media.dtmf_duration_ms", "40 to 8000");
  if (c.dtmf_gap_ms < 20 || c.dtmf_gap_ms > 5000)
    return config_error("media.dtmf_gap_ms", "20 to 5000");
  if (c.dtmf_volume < 0 || c.dtmf_volume > 63)
    return config_error("media.dtmf_volume", "0 to 63 (-dBm0)");
  if (c.max_sound_seconds <= 0 || c.max_sound_seconds > 3600)
    return config_error("media.max_seconds", "above 0 and at most 3600");
  return Ok{};
}

}  // namespace swmld::media
