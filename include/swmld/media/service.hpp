// The media module seen from the rest of swmld: a Service that owns the RTP port range, the
// media threads (paced RTP), the worker pool (decoding, resampling, TTS) and the audio cache,
// and opens one Session per call leg, which implements call::MediaControl.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "swmld/call/contract.hpp"
#include "swmld/core/error.hpp"

namespace swmld::media {

class MediaThread;

// Where a call's legs do their media: sessions opened with one Placement share a media
// thread, the one the first of them to take a port was given (round robin). Bridging two
// legs then relays on that thread instead of handing every packet over to another one
// (bench/relay_load, `rtp.threads: 2`, 100 calls: 666 against 750 us of CPU per
// stream-second with the legs apart). Opaque to
// callers: make one per call (std::make_shared) and pass it to each leg's open(). Used on
// the call's strand, like the sessions.
struct Placement {
  MediaThread* thread = nullptr;
};

struct MediaConfig {
  // RTP ports: even ports of this range (the odd one above each is its RTCP port). Two
  // ports per call, so the default range holds 2,000 calls (limits.max_calls defaults to
  // 1,000: a released port is not reused at once).
  std::pair<int, int> rtp_ports{20000, 23999};
  std::vector<std::string> codecs{"PCMU", "PCMA"};  // preference when an offer allows both
  int ptime_ms = 20;  // when the offer has no a=ptime (10..60, multiples of 10)
  int threads = 1;    // media threads, each with its own 20 ms tick
  // Symmetric RTP with latching: once RTP arrives from another address than the SDP named
  // (a caller behind NAT), send there.
  bool latch = true;
  bool rtcp = false;           // RTCP sender reports every 5 s on port + 1
  bool idle_silence = false;   // send comfort silence when nothing plays (else nothing)
  std::string public_address;  // SDP c=/o= address; empty: the address SIP used for the call
  // Local files: paths under this folder only (symlinks resolved); empty: local files refused.
  std::string media_root;
  std::size_t cache_bytes = 256u << 20;    // decoded audio kept in memory, least recently used out
  std::size_t max_file_bytes = 16u << 20;  // an audio file (URL or local) larger is refused
  double max_sound_seconds = 600;          // a decoded sound longer is refused
  int workers = 2;                         // decoding / TTS threads
  std::size_t max_jobs = 1000;             // loads waiting for a worker; beyond: refused
  int dtmf_duration_ms = 100;              // send_digits: how long each key is held
  int dtmf_gap_ms = 100;                   // send_digits: silence between keys
  int dtmf_volume = 10;                    // send_digits: -dBm0 in the RFC 4733 events
};

// An HTTP(S) GET for audio files, provided by the composition root (the http module): the
// same client, timeouts and allowed hosts as every other request. `done` runs once, on any
// thread. `max_age_s`: how long the response may be reused (Cache-Control), 0 = not cached.
struct FetchResult {
  int status = 0;
  std::string body;
  std::string error;  // transport failure, or a body over the size limit
  double max_age_s = 0;
};
using Fetcher = std::function<void(const std::string& url, std::size_t max_bytes,
                                   std::function<void(FetchResult)> done)>;

struct ServiceStats {
  std::uint64_t streams_active = 0;
  std::uint64_t ports_free = 0;
  std::uint64_t packets_sent = 0;
  std::uint64_t packets_received = 0;
  std::uint64_t dropped_not_rtp = 0;       // received, not RTP (nor RTCP, nor STUN)
  std::uint64_t dropped_payload_type = 0;  // received, a payload type not negotiated
  std::uint64_t dropped_keys = 0;          // RFC 4733 keys beyond 25 a second
  std::uint64_t late_ticks = 0;  // ticks that started more than 5 ms late
  std::uint64_t packets_relayed = 0;         // bridged: sent as relayed from the other leg
  std::uint64_t relay_dropped_late = 0;      // bridged: older than their source's last packet
  std::uint64_t relay_dropped_overflow = 0;  // bridged: the other leg's media thread was behind
  // Bridges whose legs were on two media threads (every packet handed over between them):
  // legs opened without a shared Placement, with rtp.threads > 1.
  std::uint64_t bridges_across_threads = 0;
  std::uint64_t cache_bytes = 0;
  std::uint64_t cache_entries = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t load_failures = 0;
  std::uint64_t jobs_queued = 0;
  // Recordings not finished yet: running, or their file being closed (and their `done`,
  // which may upload it and post a callback, not returned yet).
  std::uint64_t recordings_active = 0;
};

// Checks ranges and combinations; the error names the configuration key (rtp.*, media.*).
Status validate(const MediaConfig& config);

class Service {
 public:
  // Starts the media threads and workers. Errors: a bad port range or thread count.
  static Result<std::unique_ptr<Service>> start(MediaConfig config, Fetcher fetcher);
  virtual ~Service() = default;

  // A session for one leg, negotiated against the INVITE's offer (empty: a late-offer INVITE,
  // we offer in the 200). No port is taken yet (local_sdp() does). Cheap and non-blocking:
  // called on the SIP thread for every INVITE. An Error when the offer has nothing we can
  // use (the INVITE is then refused with 488, the message says why).
  virtual Result<std::unique_ptr<call::MediaControl>> open(
      std::string_view remote_offer, const std::string& local_address,
      std::shared_ptr<Placement> placement) = 0;
  // A leg of its own (no other leg of its call to share a thread with).
  Result<std::unique_ptr<call::MediaControl>> open(std::string_view remote_offer,
                                                   const std::string& local_address) {
    return open(remote_offer, local_address, nullptr);
  }
  virtual ServiceStats stats() const = 0;  // any thread
  virtual const MediaConfig& config() const = 0;
};

}  // namespace swmld::media
