// libFuzzer target: a remote SDP (INVITE offer, re-INVITE offer, answer in the ACK) goes
// through what media::Service and media::Session do with it: parse_sdp, choose_media,
// render_answer. The answer must parse again and say what was chosen; what choose_media
// hands to the RTP stream must fit RTP (payload types 0..127, ports 1..65535).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sdp.hpp"

using namespace swmld::media;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto offer = parse_sdp(text);
  if (!offer) return 0;
  static const std::vector<std::string> codecs{"PCMU", "PCMA"};
  std::string reason;
  auto choice = choose_media(*offer, codecs, 20, &reason);
  if (!choice) {
    if (reason.empty()) __builtin_trap();  // the 488 says why
    return 0;
  }
  if (choice->media_index >= offer->media.size()) __builtin_trap();
  if (choice->payload_type < 0 || choice->payload_type > 127) __builtin_trap();
  if (choice->te_payload_type < -1 || choice->te_payload_type > 127) __builtin_trap();
  if (choice->remote_port < 1 || choice->remote_port > 65535) __builtin_trap();
  if (choice->ptime < 10 || choice->ptime > 60) __builtin_trap();
  if (choice->codec != "PCMU" && choice->codec != "PCMA") __builtin_trap();

  LocalMedia local{"192.0.2.10", 40000, 7, 2};
  std::string answer = render_answer(*offer, *choice, local);
  auto again = parse_sdp(answer);
  if (!again || again->media.size() != offer->media.size()) __builtin_trap();
  for (std::size_t i = 0; i < again->media.size(); ++i) {
    const SdpMedia& m = again->media[i];
    if (i != choice->media_index) {
      if (m.port != 0) __builtin_trap();  // rejected streams keep their line with port 0
      continue;
    }
    if (m.port != local.port || m.connection != local.address || m.ptime != choice->ptime ||
        m.direction != choice->direction)
      __builtin_trap();
    auto it = m.rtpmap.find(choice->payload_type);
    if (it == m.rtpmap.end() || it->second != choice->codec + "/8000") __builtin_trap();
  }
  // Our answer, taken as an offer, must lead to the same codec (a re-INVITE echoing it).
  auto echo = choose_media(*again, codecs, 20, nullptr);
  if (!echo || echo->codec != choice->codec || echo->payload_type != choice->payload_type ||
      echo->te_payload_type != choice->te_payload_type)
    __builtin_trap();
  return 0;
}
