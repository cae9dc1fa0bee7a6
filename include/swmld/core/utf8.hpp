// UTF-8 validity (RFC 3629: no overlong forms, no UTF-16 surrogates, nothing above U+10FFFF).
// Text that ends up in JSON (nlohmann::json::dump throws on invalid UTF-8) is checked with it.
#pragma once

#include <cstddef>
#include <string_view>

namespace swmld {

// The length (1-4) of the valid sequence that starts at s[i]; 0 when none does.
inline std::size_t utf8_sequence_at(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the second byte's range
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0;  // overlong
    if (c == 0xed) hi = 0x9f;  // UTF-16 surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90;  // overlong
    if (c == 0xf4) hi = 0x8f;  // above U+10FFFF
  }
  if (len == 0 || i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf)) return 0;
  }
  return len;
}

// The offset of the first byte that does not start a valid sequence; s.size() when valid.
inline std::size_t utf8_invalid_at(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t len = utf8_sequence_at(s, i);
    if (len == 0) return i;
    i += len;
  }
  return s.size();
}

inline bool valid_utf8(std::string_view s) { return utf8_invalid_at(s) == s.size(); }

}  // namespace swmld
