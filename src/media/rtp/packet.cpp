// RTP/RTCP packet layout (RFC 3550), RFC 4733 telephone-events, the DTMF receiver's fold and
// the DTMF sender's plan. Pure byte and integer work; see packet.hpp for the contracts.
#include "packet.hpp"

#include <algorithm>

namespace swmld::media::rtp {
namespace {

constexpr std::uint8_t kVersion = 2;
constexpr int kSamplesPerMs = 8;     // telephone-event is an 8 kHz clock in every SDP we answer
constexpr int kEndPackets = 3;       // RFC 4733 §2.5.1.4: the final packet, three times
constexpr int kPauseShortMs = 500;   // 'w'
constexpr int kPauseLongMs = 1000;   // 'W'
constexpr std::size_t kSrSize = 28;  // header 8 + sender info 20, no report blocks
constexpr std::uint8_t kRtcpSr = 200;
constexpr std::uint8_t kRtcpSdes = 202;
constexpr std::uint8_t kSdesCname = 1;
constexpr std::uint64_t kNtpUnixOffset = 2208988800ULL;  // 1900-01-01 to 1970-01-01, seconds
constexpr std::int64_t kNsPerSecond = 1'000'000'000;

std::uint16_t get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::uint32_t get32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

void put32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

// Whole packet intervals that cover `ms` (a partial interval counts as one).
int intervals(int ms, int ptime_ms) {
  return ms <= 0 ? 0 : (ms + ptime_ms - 1) / ptime_ms;
}

}  // namespace

std::size_t write_header(const Header& h, std::uint8_t* out) {
  out[0] = kVersion << 6;
  out[1] = static_cast<std::uint8_t>((h.marker ? 0x80 : 0) | (h.payload_type & 0x7f));
  put16(out + 2, h.seq);
  put32(out + 4, h.timestamp);
  put32(out + 8, h.ssrc);
  return kHeaderSize;
}

std::optional<Packet> parse(std::span<const std::uint8_t> data) {
  if (data.size() < kHeaderSize) return std::nullopt;
  const std::uint8_t* p = data.data();
  if ((p[0] >> 6) != kVersion) return std::nullopt;
  // RTCP on the same port (RFC 5761 §4): packet types 200-204 read as payload types 72-76
  // with the marker set. Those payload types are never valid RTP, so both marker values go.
  const std::uint8_t pt = p[1] & 0x7f;
  if (pt >= 72 && pt <= 76) return std::nullopt;

  std::size_t offset = kHeaderSize + 4u * (p[0] & 0x0f);  // CSRC list
  if (offset > data.size()) return std::nullopt;
  if (p[0] & 0x10) {  // extension: 16-bit profile word, 16-bit length in 32-bit words
    if (offset + 4 > data.size()) return std::nullopt;
    offset += 4 + 4u * get16(p + offset + 2);
    if (offset > data.size()) return std::nullopt;
  }
  std::size_t end = data.size();
  if (p[0] & 0x20) {  // padding: the last octet counts the padding octets, itself included
    const std::size_t pad = p[end - 1];
    if (pad == 0 || pad > end - offset) return std::nullopt;
    end -= pad;
  }

  Packet packet;
  packet.header.marker = (p[1] & 0x80) != 0;
  packet.header.payload_type = pt;
  packet.header.seq = get16(p + 2);
  packet.header.timestamp = get32(p + 4);
  packet.header.ssrc = get32(p + 8);
  packet.payload = data.subspan(offset, end - offset);
  return packet;
}

NotRtp classify(std::span<const std::uint8_t> data) {
  const std::uint8_t* p = data.data();
  // RTCP: version 2, packet type 192-223 in the second octet (RFC 5761 §4), 8 octets at least.
  if (data.size() >= 8 && (p[0] >> 6) == kVersion && p[1] >= 192 && p[1] <= 223)
    return NotRtp::rtcp;
  // STUN: first octet 0-3 (RFC 7983), a 20-octet header with the magic cookie (RFC 5389).
  if (data.size() >= 20 && p[0] <= 3 && get32(p + 4) == 0x2112A442u) return NotRtp::stun;
  return NotRtp::garbage;
}

// ---- RFC 4733 telephone-events ----------------------------------------------------------

// Bytes past the first four are ignored: one event per packet is all RFC 4733 sends without
// RFC 2198 redundancy, which we do not offer.
std::optional<TelephoneEvent> parse_event(std::span<const std::uint8_t> payload) {
  if (payload.size() < kEventSize) return std::nullopt;
  TelephoneEvent e;
  e.event = payload[0];
  e.end = (payload[1] & 0x80) != 0;  // 0x40 is R: reserved, ignored
  e.volume = payload[1] & 0x3f;
  e.duration = get16(payload.data() + 2);
  return e;
}

void write_event(const TelephoneEvent& e, std::uint8_t* out) {
  out[0] = e.event;
  out[1] = static_cast<std::uint8_t>((e.end ? 0x80 : 0) | (e.volume & 0x3f));
  put16(out + 2, e.duration);
}

int event_code(char digit) {
  if (digit >= '0' && digit <= '9') return digit - '0';
  if (digit == '*') return 10;
  if (digit == '#') return 11;
  if (digit >= 'A' && digit <= 'D') return 12 + (digit - 'A');
  if (digit >= 'a' && digit <= 'd') return 12 + (digit - 'a');
  return -1;
}

char event_digit(int code) {
  static constexpr char kDigits[] = "0123456789*#ABCD";
  return code >= 0 && code < 16 ? kDigits[code] : '\0';
}

// An event is known by its RTP timestamp (its start) and code. We keep the codes reported at
// the newest timestamp only: an older timestamp is a late or reordered packet of an event that
// is over (reported, or lost for good), and reporting it now would put keys out of order.
// "Older" is serial-number arithmetic: up to half the 32-bit space behind, so a timestamp
// that wraps past 2^32 is still newer. A packet of duration 0 (SIPp's captures start so)
// counts like any other.
std::optional<char> DtmfReceiver::on_packet(std::uint32_t timestamp, const TelephoneEvent& e) {
  if (e.event >= 16) return std::nullopt;
  const auto bit = static_cast<std::uint16_t>(1u << e.event);
  if (have_last_) {
    const auto ahead = static_cast<std::int32_t>(timestamp - last_timestamp_);
    if (ahead < 0) return std::nullopt;
    if (ahead == 0) {
      if (reported_ & bit) return std::nullopt;
      reported_ |= bit;
      return event_digit(e.event);
    }
  }
  have_last_ = true;
  last_timestamp_ = timestamp;
  reported_ = bit;
  return event_digit(e.event);
}

// How a key goes out, following RFC 4733 §2.5.1.2-§2.5.1.4. With ptime 20 and duration 100 ms:
// - The first packet (new_event: marker set, timestamp = its send time) already reports one
//   interval, 160 samples (as Asterisk's first packet does): like an audio packet, it covers
//   the interval it starts. Each next interval's packet reports one interval more (320, 480,
//   ...), capped at the key's duration; the last update reports the full duration (800)
//   without the E bit.
// - Then the end packet (E bit, duration = duration_ms * 8) in three consecutive intervals,
//   identical (the stream still gives each its own sequence number, §2.5.1.6): §2.5.1.4 asks
//   for the update interval; Asterisk and SIPp send the three back to back, which one burst
//   loss takes out whole.
// - Then the gap: ceil(gap_ms / ptime) intervals with no event packet between the third end
//   packet's interval and the next key's first one. The next key thus starts at least
//   gap_ms + ptime after the last end packet was sent. The gap follows the last key too, so
//   a plan's length is also how long until another plan may start.
// A duration shorter than one interval is held for one; durations past the 16-bit field
// (8191 ms) are cut there, as we do not send RFC 4733 segments.
std::vector<DtmfStep> plan_digits(std::string_view digits, const DtmfPlan& plan) {
  std::vector<DtmfStep> steps;
  if (plan.ptime_ms <= 0) return steps;
  const int ptime = plan.ptime_ms;
  const int hold_ms = std::clamp(plan.duration_ms, std::min(ptime, 8191), 8191);
  const auto total = static_cast<std::uint16_t>(hold_ms * kSamplesPerMs);
  const int updates = intervals(hold_ms, ptime);
  const int gap = intervals(plan.gap_ms, ptime);
  const auto pause = [&](int n) { steps.insert(steps.end(), static_cast<std::size_t>(n), {}); };

  for (char c : digits) {
    if (c == 'w' || c == 'W') {
      pause(intervals(c == 'w' ? kPauseShortMs : kPauseLongMs, ptime));
      continue;
    }
    const int code = event_code(c);
    if (code < 0) continue;
    DtmfStep step;
    step.kind = DtmfStep::Kind::event;
    step.event.event = static_cast<std::uint8_t>(code);
    step.event.volume = plan.volume & 0x3f;
    for (int k = 1; k <= updates; ++k) {
      step.new_event = k == 1;
      step.event.duration =
          static_cast<std::uint16_t>(std::min(k * ptime * kSamplesPerMs, int{total}));
      steps.push_back(step);
    }
    step.new_event = false;
    step.event.end = true;
    step.event.duration = total;
    steps.insert(steps.end(), kEndPackets, step);
    pause(gap);
  }
  return steps;
}

// ---- RTCP ------------------------------------------------------------------------------------

// SR (§6.4.1) with no report blocks: we only send, so there is nothing to report on. SDES
// (§6.5) with one chunk: our SSRC, the CNAME item, then the item list's end: one to four zero
// octets up to the next 32-bit boundary. Length fields count 32-bit words minus one.
// A CNAME over 255 octets (the item length's limit) is cut there.
std::size_t write_sender_report(const SenderInfo& info, std::string_view cname, std::uint8_t* out) {
  if (cname.size() > 255) cname = cname.substr(0, 255);

  out[0] = kVersion << 6;  // RC = 0
  out[1] = kRtcpSr;
  put16(out + 2, kSrSize / 4 - 1);
  put32(out + 4, info.ssrc);
  put32(out + 8, static_cast<std::uint32_t>(info.ntp >> 32));
  put32(out + 12, static_cast<std::uint32_t>(info.ntp));
  put32(out + 16, info.rtp_timestamp);
  put32(out + 20, info.packets);
  put32(out + 24, info.octets);

  const std::size_t items = (2 + cname.size() + 1 + 3) / 4 * 4;  // CNAME + END, padded
  const std::size_t sdes_size = 4 + 4 + items;
  std::uint8_t* sdes = out + kSrSize;
  sdes[0] = static_cast<std::uint8_t>((kVersion << 6) | 1);  // SC = 1
  sdes[1] = kRtcpSdes;
  put16(sdes + 2, static_cast<std::uint16_t>(sdes_size / 4 - 1));
  put32(sdes + 4, info.ssrc);
  sdes[8] = kSdesCname;
  sdes[9] = static_cast<std::uint8_t>(cname.size());
  std::copy(cname.begin(), cname.end(), sdes + 10);
  std::fill(sdes + 10 + cname.size(), sdes + sdes_size, std::uint8_t{0});
  return kSrSize + sdes_size;
}

// The seconds wrap modulo 2^32 (NTP era 1 starts in 2036), as RTCP's 64-bit timestamps do.
std::uint64_t ntp_from_unix_ns(std::int64_t unix_ns) {
  std::int64_t seconds = unix_ns / kNsPerSecond;
  std::int64_t rem = unix_ns % kNsPerSecond;
  if (rem < 0) {  // floor for times before 1970
    rem += kNsPerSecond;
    --seconds;
  }
  const auto ntp_seconds =
      static_cast<std::uint32_t>(static_cast<std::uint64_t>(seconds) + kNtpUnixOffset);
  const std::uint64_t fraction = (static_cast<std::uint64_t>(rem) << 32) / kNsPerSecond;
  return (std::uint64_t{ntp_seconds} << 32) | fraction;
}

}  // namespace swmld::media::rtp
