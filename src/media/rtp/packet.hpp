// RTP (RFC 3550) and RTCP sender reports, RFC 4733 telephone-events: building and parsing
// packets, folding received DTMF events into key presses (and bounding their rate), and
// planning the packets of a digit string. Pure: no sockets, no clocks (times are given);
// any thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace swmld::media::rtp {

inline constexpr std::size_t kHeaderSize = 12;

struct Header {
  bool marker = false;
  std::uint8_t payload_type = 0;
  std::uint16_t seq = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
};

// Writes a 12-byte header (version 2, no padding, extension or CSRC). Returns 12.
std::size_t write_header(const Header& h, std::uint8_t* out);

struct Packet {
  Header header;
  std::span<const std::uint8_t> payload;  // points into the parsed buffer
};

// Parses an RTP packet: version 2, CSRCs and a header extension skipped, padding removed.
// nullopt for anything else (too short, RTCP payload types 72-76, bad padding).
std::optional<Packet> parse(std::span<const std::uint8_t> data);

// What a datagram that is not RTP (parse() failed) is, by RFC 7983's first-byte rule and
// RFC 5761's RTCP packet types: RTCP on a muxed port and STUN (a softphone's ICE checks) are
// what well-behaved peers send there, and are ignored; anything else is garbage.
enum class NotRtp { rtcp, stun, garbage };
NotRtp classify(std::span<const std::uint8_t> data);

// ---- RFC 4733 telephone-events ----------------------------------------------------------

struct TelephoneEvent {
  std::uint8_t event = 0;       // 0-9, 10 = *, 11 = #, 12-15 = A-D
  bool end = false;             // E bit
  std::uint8_t volume = 10;     // -dBm0, 0..63
  std::uint16_t duration = 0;   // in timestamp units (samples at 8 kHz)
};

inline constexpr std::size_t kEventSize = 4;
std::optional<TelephoneEvent> parse_event(std::span<const std::uint8_t> payload);
void write_event(const TelephoneEvent& e, std::uint8_t* out);  // 4 bytes

// '0'-'9' '*' '#' 'A'-'D' (a-d too) <-> event codes 0-15; -1 / '\0' otherwise.
int event_code(char digit);
char event_digit(int code);

// Folds the packets of received events into key presses. One per stream (media thread).
class DtmfReceiver {
 public:
  // One telephone-event packet with its RTP timestamp. Returns the digit when the packet
  // belongs to an event not reported yet (a new timestamp, or a new event code at the same
  // timestamp); retransmissions, updates and the (usually three) end packets of an event
  // already reported return nullopt, as do packets older than the last event and codes
  // that are not DTMF keys (16 and above).
  std::optional<char> on_packet(std::uint32_t timestamp, const TelephoneEvent& e);

 private:
  bool have_last_ = false;
  std::uint32_t last_timestamp_ = 0;  // the newest event's start
  std::uint16_t reported_ = 0;        // bit n: code n reported at last_timestamp_
};

// At most `per_second` keys a second, in bursts of up to `burst`: a token bucket. A person
// keys far slower (ITU-T Q.24: a key is 40 ms of tone and 40 ms of pause at the least, 12.5
// a second), so what passes it is every real key; what it stops is a far end sending a new
// event in every packet, which would otherwise post thousands of keys a second to the call.
class KeyRate {
 public:
  using Clock = std::chrono::steady_clock;
  explicit KeyRate(double per_second = 25, double burst = 16)
      : per_second_(per_second), burst_(burst), tokens_(burst) {}
  // True when a key received at `now` may go to the call.
  bool take(Clock::time_point now) {
    if (last_ != Clock::time_point{}) {
      const double elapsed = std::chrono::duration<double>(now - last_).count();
      tokens_ = std::min(burst_, tokens_ + elapsed * per_second_);
    }
    last_ = now;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double per_second_, burst_, tokens_;
  Clock::time_point last_{};
};

// What a stream sends in one packet interval (ptime) while it sends digits.
struct DtmfStep {
  enum class Kind {
    event,  // send `event`; new_event: it starts a digit (RTP timestamp = now, marker set)
    pause,  // send no event this interval (between digits, or a w/W pause)
  };
  Kind kind = Kind::pause;
  TelephoneEvent event;
  bool new_event = false;
};

struct DtmfPlan {
  int duration_ms = 100;  // how long each key is held
  int gap_ms = 100;       // from the last end packet of a key to the next key's start, at least
  int ptime_ms = 20;      // the stream's packet interval: one step each
  std::uint8_t volume = 10;
};

// The steps of `digits` (0-9 * # A-D a-d; 'w' = 0.5 s pause, 'W' = 1 s). Each key: event
// packets every ptime with a growing duration, the first one new_event, then the end packet
// (E bit, final duration) three times in three intervals, then the gap. Characters that are
// not keys or pauses are skipped (the caller validates).
std::vector<DtmfStep> plan_digits(std::string_view digits, const DtmfPlan& plan);

// ---- RTCP (RFC 3550 §6.4.1, §6.5) --------------------------------------------------------

struct SenderInfo {
  std::uint32_t ssrc = 0;
  std::uint64_t ntp = 0;             // NTP timestamp (seconds << 32 | fraction) of `now`
  std::uint32_t rtp_timestamp = 0;   // the RTP timestamp that corresponds to `ntp`
  std::uint32_t packets = 0;         // sender's packet count
  std::uint32_t octets = 0;          // sender's payload octet count
};

// A compound RTCP packet: SR (no report blocks) + SDES with CNAME. Returns its size:
// 28 + 8 + (2 + cname.size() + 1) rounded up to 4, so `out` needs 296 bytes for the longest
// cname (255 bytes; a longer one is cut there).
std::size_t write_sender_report(const SenderInfo& info, std::string_view cname, std::uint8_t* out);

// Unix time in nanoseconds -> NTP timestamp.
std::uint64_t ntp_from_unix_ns(std::int64_t unix_ns);

}  // namespace swmld::media::rtp
