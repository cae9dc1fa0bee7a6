// SDP offer/answer for one audio stream (RFC 3264), hand-parsed and hand-written: we only
// need m=/c=/rtpmap/fmtp/ptime/direction, and plain structs are easy to test and copy.
// Pure: no Sofia, no I/O, any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swmld::media {

enum class Direction { sendrecv, sendonly, recvonly, inactive };

std::string_view to_string(Direction d);
Direction answer_direction(Direction offered);  // sendonly <-> recvonly, others unchanged

struct SdpMedia {
  std::string type;                // "audio", "video", ...
  int port = 0;
  std::string proto;               // "RTP/AVP"
  std::vector<std::string> formats;  // as listed on the m= line (payload types for RTP)
  std::map<int, std::string> rtpmap;  // pt -> "PCMU/8000" (encoding/rate[/channels])
  std::map<int, std::string> fmtp;    // pt -> parameters
  int ptime = 0;                   // 0: none given
  Direction direction = Direction::sendrecv;  // media level, else session level, else sendrecv
  std::string connection;          // media c= address, else session c=
};

struct SdpOffer {
  std::vector<SdpMedia> media;
};

// Lenient parse (unknown lines ignored); nullopt when there is no v=/m= structure at all.
std::optional<SdpOffer> parse_sdp(std::string_view text);

// What we accept from an offer: the first audio stream, one codec, telephone-event if offered.
struct MediaChoice {
  std::size_t media_index = 0;  // which m= line is answered (others get port 0)
  std::string codec;            // "PCMU" or "PCMA"
  int payload_type = 0;
  int te_payload_type = -1;     // telephone-event/8000 pt, -1 when not offered
  std::string te_fmtp;          // the offer's fmtp for it (mirrored), may be empty
  int ptime = 20;
  Direction direction = Direction::sendrecv;  // of our answer
  std::string remote_address;
  int remote_port = 0;
};

// Picks the first payload of the first usable audio stream (RTP/AVP, port 1..65535) whose codec
// is in `codecs` (offer order wins: the offerer lists its preference first); payload types
// outside 0..127 are ignored. nullopt with
// *reason set when nothing fits (the caller answers 488).
std::optional<MediaChoice> choose_media(const SdpOffer& offer, const std::vector<std::string>& codecs,
                                        int default_ptime, std::string* reason);

struct LocalMedia {
  std::string address;      // c= and o= address
  int port = 0;             // our RTP port
  std::uint64_t session_id = 0;
  std::uint64_t version = 0;  // bumped for each new description in the dialog
};

// The answer to `offer` for `choice`: same m= lines in the same order, rejected ones port 0.
std::string render_answer(const SdpOffer& offer, const MediaChoice& choice, const LocalMedia& local);

// Our offer for a late-offer INVITE (sent in the 200): every configured codec, then
// telephone-event/8000 on payload type 101.
std::string render_offer(const std::vector<std::string>& codecs, int ptime, const LocalMedia& local);

// Static payload type of a codec we support ("PCMU" -> 0, "PCMA" -> 8), -1 otherwise.
int static_payload_type(std::string_view codec);

}  // namespace swmld::media
