// Sofia log bridge: su_log_redirect -> spdlog::debug with redaction.
#include "sofia_log.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdarg>
#include <cstdio>

#include "sofia.hpp"

extern "C" {
// Defined by libsofia-sip-ua but declared in no installed header.
extern su_log_t nua_log[];
extern su_log_t nta_log[];
extern su_log_t tport_log[];
extern su_log_t soa_log[];
extern su_log_t sresolv_log[];
extern su_log_t nea_log[];
extern su_log_t iptsec_log[];
}

namespace swmld::sip {
namespace {

std::size_t find_nocase(std::string_view hay, std::string_view needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it == hay.end() ? std::string_view::npos : static_cast<std::size_t>(it - hay.begin());
}

// Sofia calls this with fragments of lines (e.g. message dumps); complete lines are emitted.
void sofia_logger(void* /*stream*/, char const* fmt, va_list ap) noexcept {
  try {
    thread_local std::string pending;
    char buf[2048];
    va_list copy;
    va_copy(copy, ap);
    int n = std::vsnprintf(buf, sizeof buf, fmt, copy);
    va_end(copy);
    if (n < 0) return;
    pending.append(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
    std::size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string_view line(pending.data(), nl);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty()) spdlog::debug("sofia: {}", redact_sofia_line(line));
      pending.erase(0, nl + 1);
    }
    if (pending.size() > 16384) pending.clear();  // no newline ever: do not grow forever
  } catch (...) {
    // Logging must never throw into Sofia.
  }
}

}  // namespace

std::string redact_sofia_line(std::string_view line) {
  for (std::string_view key : {std::string_view("authorization:"), std::string_view("auth:"),
                               std::string_view("nutag_auth")}) {
    auto at = find_nocase(line, key);
    if (at != std::string_view::npos)
      return std::string(line.substr(0, at + key.size())) + " <redacted>";
  }
  return std::string(line);
}

void redirect_sofia_logs(int level) {
  level = std::clamp(level, 0, 9);
  for (su_log_t* log : {su_log_default, su_log_global, nua_log, nta_log, tport_log, soa_log,
                        sresolv_log, nea_log, iptsec_log}) {
    su_log_redirect(log, sofia_logger, nullptr);
    su_log_set_level(log, static_cast<unsigned>(level));
  }
}

}  // namespace swmld::sip
