// SDP offer parsing and answer/offer rendering for one audio stream.
#include "sdp.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

namespace swmld::media {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// A decimal number as SDP writes them: digits only (no sign).
std::optional<int> to_int(std::string_view s) {
  if (s.empty() || s.front() == '-') return std::nullopt;
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<Direction> direction_attr(std::string_view a) {
  if (a == "sendrecv") return Direction::sendrecv;
  if (a == "sendonly") return Direction::sendonly;
  if (a == "recvonly") return Direction::recvonly;
  if (a == "inactive") return Direction::inactive;
  return std::nullopt;
}

// "IN IP4 192.0.2.1" -> "192.0.2.1"
std::string connection_address(std::string_view c) {
  auto parts = split_ws(c);
  if (parts.size() < 3) return {};
  std::string_view addr = parts[2];
  return std::string(addr.substr(0, addr.find('/')));  // drop a multicast TTL
}

// The encoding name of a payload type: its rtpmap, else the static assignment.
std::string encoding_of(const SdpMedia& m, int pt) {
  auto it = m.rtpmap.find(pt);
  if (it != m.rtpmap.end()) return it->second.substr(0, it->second.find('/'));
  if (pt == 0) return "PCMU";
  if (pt == 8) return "PCMA";
  return {};
}

int clock_rate_of(const SdpMedia& m, int pt) {
  auto it = m.rtpmap.find(pt);
  if (it == m.rtpmap.end()) return (pt == 0 || pt == 8) ? 8000 : 0;
  auto slash = it->second.find('/');
  if (slash == std::string::npos) return 0;
  std::string_view rest = std::string_view(it->second).substr(slash + 1);
  return to_int(rest.substr(0, rest.find('/'))).value_or(0);
}

const char* ip_kind(const std::string& address) {
  return address.find(':') != std::string::npos ? "IP6" : "IP4";
}

void write_origin(std::ostringstream& out, const LocalMedia& local) {
  out << "v=0\r\n"
      << "o=swmld " << local.session_id << ' ' << local.version << " IN "
      << ip_kind(local.address) << ' ' << local.address << "\r\n"
      << "s=swmld\r\n"
      << "c=IN " << ip_kind(local.address) << ' ' << local.address << "\r\n"
      << "t=0 0\r\n";
}

}  // namespace

std::string_view to_string(Direction d) {
  switch (d) {
    case Direction::sendrecv: return "sendrecv";
    case Direction::sendonly: return "sendonly";
    case Direction::recvonly: return "recvonly";
    case Direction::inactive: return "inactive";
  }
  return "sendrecv";
}

Direction answer_direction(Direction offered) {
  if (offered == Direction::sendonly) return Direction::recvonly;
  if (offered == Direction::recvonly) return Direction::sendonly;
  return offered;
}

int static_payload_type(std::string_view codec) {
  if (iequals(codec, "PCMU")) return 0;
  if (iequals(codec, "PCMA")) return 8;
  return -1;
}

std::optional<SdpOffer> parse_sdp(std::string_view text) {
  SdpOffer offer;
  std::string session_connection;
  Direction session_direction = Direction::sendrecv;
  bool seen_version = false;
  std::vector<bool> media_has_direction;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() < 2 || line[1] != '=') continue;
    char kind = line[0];
    std::string_view value = line.substr(2);
    SdpMedia* media = offer.media.empty() ? nullptr : &offer.media.back();
    if (kind == 'v') {
      seen_version = true;
    } else if (kind == 'm') {
      auto parts = split_ws(value);
      if (parts.size() < 3) continue;
      SdpMedia m;
      m.type = std::string(parts[0]);
      m.port = to_int(parts[1].substr(0, parts[1].find('/'))).value_or(-1);
      m.proto = std::string(parts[2]);
      for (std::size_t i = 3; i < parts.size(); ++i) m.formats.emplace_back(parts[i]);
      offer.media.push_back(std::move(m));
      media_has_direction.push_back(false);
    } else if (kind == 'c') {
      (media ? media->connection : session_connection) = connection_address(value);
    } else if (kind == 'a') {
      std::string_view name = value.substr(0, value.find(':'));
      std::string_view arg = name.size() < value.size() ? value.substr(name.size() + 1) : "";
      if (auto d = direction_attr(name)) {
        if (media) {
          media->direction = *d;
          media_has_direction.back() = true;
        } else {
          session_direction = *d;
        }
      } else if (media && (name == "rtpmap" || name == "fmtp")) {
        auto space = arg.find(' ');
        if (space == std::string_view::npos) continue;
        auto pt = to_int(arg.substr(0, space));
        if (!pt) continue;
        std::string rest(arg.substr(space + 1));
        (name == "rtpmap" ? media->rtpmap : media->fmtp)[*pt] = rest;
      } else if (media && name == "ptime") {
        media->ptime = to_int(arg).value_or(0);
      }
    }
  }
  if (!seen_version || offer.media.empty()) return std::nullopt;
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    if (!media_has_direction[i]) offer.media[i].direction = session_direction;
    if (offer.media[i].connection.empty()) offer.media[i].connection = session_connection;
  }
  return offer;
}

std::optional<MediaChoice> choose_media(const SdpOffer& offer, const std::vector<std::string>& codecs,
                                        int default_ptime, std::string* reason) {
  std::string why = "no audio stream in the offer";
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const SdpMedia& m = offer.media[i];
    // Port 0 declines the stream; above 65535 it is no UDP port at all.
    if (m.type != "audio" || m.port <= 0 || m.port > 65535) continue;
    if (m.proto != "RTP/AVP") {
      why = "unsupported audio profile " + m.proto;
      continue;
    }
    MediaChoice choice;
    choice.media_index = i;
    bool found = false;
    for (const auto& f : m.formats) {
      auto pt = to_int(f);
      if (!pt || *pt < 0 || *pt > 127) continue;  // RTP payload types are 7 bits
      std::string enc = encoding_of(m, *pt);
      if (!found && clock_rate_of(m, *pt) == 8000 &&
          std::any_of(codecs.begin(), codecs.end(),
                      [&](const std::string& c) { return iequals(c, enc); })) {
        choice.codec = static_payload_type(enc) == 0 ? "PCMU" : "PCMA";
        choice.payload_type = *pt;
        found = true;
      }
      if (choice.te_payload_type < 0 && iequals(enc, "telephone-event") &&
          clock_rate_of(m, *pt) == 8000) {
        choice.te_payload_type = *pt;
        auto fm = m.fmtp.find(*pt);
        if (fm != m.fmtp.end()) choice.te_fmtp = fm->second;
      }
    }
    if (!found) {
      why = "no common codec (we accept";
      for (const auto& c : codecs) why += " " + c;
      why += ")";
      continue;
    }
    choice.ptime = (m.ptime >= 10 && m.ptime <= 60 && m.ptime % 10 == 0) ? m.ptime : default_ptime;
    choice.direction = answer_direction(m.direction);
    choice.remote_address = m.connection;
    choice.remote_port = m.port;
    return choice;
  }
  if (reason) *reason = why;
  return std::nullopt;
}

std::string render_answer(const SdpOffer& offer, const MediaChoice& choice, const LocalMedia& local) {
  std::ostringstream out;
  write_origin(out, local);
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const SdpMedia& m = offer.media[i];
    if (i != choice.media_index) {  // RFC 3264 §6: a rejected stream keeps its line, port 0
      out << "m=" << m.type << " 0 " << m.proto << ' '
          << (m.formats.empty() ? std::string("0") : m.formats.front()) << "\r\n";
      continue;
    }
    out << "m=audio " << local.port << " RTP/AVP " << choice.payload_type;
    if (choice.te_payload_type >= 0) out << ' ' << choice.te_payload_type;
    out << "\r\n";
    out << "a=rtpmap:" << choice.payload_type << ' ' << choice.codec << "/8000\r\n";
    if (choice.te_payload_type >= 0) {
      out << "a=rtpmap:" << choice.te_payload_type << " telephone-event/8000\r\n";
      if (!choice.te_fmtp.empty())
        out << "a=fmtp:" << choice.te_payload_type << ' ' << choice.te_fmtp << "\r\n";
    }
    out << "a=ptime:" << choice.ptime << "\r\n";
    out << "a=" << to_string(choice.direction) << "\r\n";
  }
  return out.str();
}

std::string render_offer(const std::vector<std::string>& codecs, int ptime, const LocalMedia& local) {
  std::ostringstream out;
  write_origin(out, local);
  out << "m=audio " << local.port << " RTP/AVP";
  for (const auto& c : codecs)
    if (static_payload_type(c) >= 0) out << ' ' << static_payload_type(c);
  out << " 101\r\n";
  for (const auto& c : codecs)
    if (static_payload_type(c) >= 0)
      out << "a=rtpmap:" << static_payload_type(c) << ' ' << (static_payload_type(c) ? "PCMA" : "PCMU")
          << "/8000\r\n";
  out << "a=rtpmap:101 telephone-event/8000\r\n"
      << "a=fmtp:101 0-16\r\n"
      << "a=ptime:" << ptime << "\r\n"
      << "a=sendrecv\r\n";
  return out.str();
}

}  // namespace swmld::media
