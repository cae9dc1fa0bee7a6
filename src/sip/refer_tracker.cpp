// REFER retry/report decisions and the sipfrag / dtmf body parsers.
#include "refer_tracker.hpp"

#include <cctype>

namespace swmld::sip {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<char> dtmf_digit(std::string_view s) {
  s = trim(s);
  if (s.size() != 1) return std::nullopt;
  char c = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  if ((c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D')) return c;
  return std::nullopt;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

}  // namespace

int parse_sipfrag_status(std::string_view body) {
  body = trim(body);
  if (!starts_with_nocase(body, "sip/2.0 ")) return 0;
  body.remove_prefix(8);
  while (!body.empty() && body.front() == ' ') body.remove_prefix(1);
  if (body.size() < 3) return 0;
  int code = 0;
  for (int i = 0; i < 3; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(body[i]))) return 0;
    code = code * 10 + (body[i] - '0');
  }
  if (body.size() > 3 && !std::isspace(static_cast<unsigned char>(body[3]))) return 0;
  return (code >= 100 && code <= 699) ? code : 0;
}

std::optional<char> parse_dtmf_info(std::string_view content_type, std::string_view body) {
  content_type = trim(content_type.substr(0, content_type.find(';')));
  if (starts_with_nocase(content_type, "application/dtmf-relay")) {
    std::size_t pos = 0;
    while (pos < body.size()) {
      std::size_t end = body.find('\n', pos);
      if (end == std::string_view::npos) end = body.size();
      std::string_view line = trim(body.substr(pos, end - pos));
      pos = end + 1;
      if (starts_with_nocase(line, "signal")) {
        auto eq = line.find('=');
        if (eq != std::string_view::npos) return dtmf_digit(line.substr(eq + 1));
      }
    }
    return std::nullopt;
  }
  if (starts_with_nocase(content_type, "application/dtmf")) return dtmf_digit(body);
  return std::nullopt;
}

std::string digest_credentials(std::string_view scheme, std::string_view realm,
                               std::string_view username, std::string_view password) {
  std::string quoted(realm);
  if (quoted.size() < 2 || quoted.front() != '"' || quoted.back() != '"') quoted = "\"" + quoted + "\"";
  std::string out(scheme);
  out += ':';
  out += quoted;
  out += ':';
  out += username;
  out += ':';
  out += password;
  return out;
}

void ReferTracker::start(call::ReferRequest params) {
  params_ = std::move(params);
  event_id_.clear();
  waiting_ = true;
  retried_ = false;
}

ReferTracker::Decision ReferTracker::on_response(int status) {
  if (status < 200) return {};
  if (releases_pending_ > 0) {
    --releases_pending_;
    return {};
  }
  if (!waiting_) return {};
  if ((status == 401 || status == 407) && !retried_ && !params_.username.empty()) {
    retried_ = true;
    return {Step::retry, status};
  }
  waiting_ = false;
  return {Step::report, status};
}

bool ReferTracker::matches_notify(std::string_view event_id) const {
  return event_id.empty() || event_id_.empty() || event_id == event_id_;
}

}  // namespace swmld::sip
