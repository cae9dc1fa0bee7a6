// Value-to-text conversions used by placeholder expansion, matching JavaScript's output.
#include "expression_text.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>

namespace swmld::swml {

std::string js_number_text(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d < 0 ? "-Infinity" : "Infinity";
  if (d == 0) return "0";  // also -0
  // Shortest round-trip digits, then ECMA-262 Number::toString's layout rules.
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));  // "-1.2345e+02"
  std::string out;
  if (sci.front() == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  const std::size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits += c;
  }
  const int exp10 = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;  // the decimal point sits after n digits
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<std::size_t>(n));
    out += '.';
    out += digits.substr(static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += n - 1 >= 0 ? '+' : '-';
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

void append_json(std::string& out, const Value& v) {
  switch (v.type()) {
    case Value::value_t::object: {
      out += '{';
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ',';
        first = false;
        out += Value(it.key()).dump(-1, ' ', false, Value::error_handler_t::replace);
        out += ':';
        append_json(out, it.value());
      }
      out += '}';
      return;
    }
    case Value::value_t::array: {
      out += '[';
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out += ',';
        append_json(out, v[i]);
      }
      out += ']';
      return;
    }
    case Value::value_t::number_float: {
      const double d = v.get<double>();
      out += std::isfinite(d) ? js_number_text(d) : "null";
      return;
    }
    case Value::value_t::discarded:
    case Value::value_t::binary:
      out += "null";
      return;
    default:
      out += v.dump(-1, ' ', false, Value::error_handler_t::replace);
      return;
  }
}

std::string embed_text(const Value& v) {
  switch (v.type()) {
    case Value::value_t::string:
      return v.get_ref<const std::string&>();
    case Value::value_t::null:
    case Value::value_t::discarded:
    case Value::value_t::binary:
      return {};
    case Value::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case Value::value_t::number_integer:
      return std::to_string(v.get<std::int64_t>());
    case Value::value_t::number_unsigned:
      return std::to_string(v.get<std::uint64_t>());
    case Value::value_t::number_float:
      return js_number_text(v.get<double>());
    case Value::value_t::object:
      return "[object Object]";
    case Value::value_t::array: {
      // Array.prototype.join: elements' texts with commas, null/undefined as nothing.
      std::string out;
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ',';
        first = false;
        out += embed_text(e);
      }
      return out;
    }
  }
  return {};
}

std::string repair_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  auto cont = [&](std::size_t i) { return i < n && (p[i] & 0xC0) == 0x80; };
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF && cont(i + 1)) {
      len = 2;
      cp = ((c & 0x1Fu) << 6) | (p[i + 1] & 0x3Fu);
    } else if (c >= 0xE0 && c <= 0xEF && cont(i + 1) && cont(i + 2)) {
      len = 3;
      cp = ((c & 0x0Fu) << 12) | ((p[i + 1] & 0x3Fu) << 6) | (p[i + 2] & 0x3Fu);
      if (cp < 0x800) len = 0;  // overlong
    } else if (c >= 0xF0 && c <= 0xF4 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
      len = 4;
      cp = ((c & 0x07u) << 18) | ((p[i + 1] & 0x3Fu) << 12) | ((p[i + 2] & 0x3Fu) << 6) |
           (p[i + 3] & 0x3Fu);
      if (cp < 0x10000 || cp > 0x10FFFF) len = 0;
    }
    if (len == 3 && cp >= 0xD800 && cp <= 0xDFFF) {
      // CESU-8: a high surrogate followed by a low one is one supplementary character.
      if (cp <= 0xDBFF && i + 5 < n && p[i + 3] == 0xED && cont(i + 4) && cont(i + 5)) {
        const std::uint32_t lo = 0xD000u | ((p[i + 4] & 0x3Fu) << 6) | (p[i + 5] & 0x3Fu);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
          const std::uint32_t full = 0x10000u + ((cp - 0xD800u) << 10) + (lo - 0xDC00u);
          out += static_cast<char>(0xF0 | (full >> 18));
          out += static_cast<char>(0x80 | ((full >> 12) & 0x3F));
          out += static_cast<char>(0x80 | ((full >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (full & 0x3F));
          i += 6;
          continue;
        }
      }
      i += 3;  // a lone surrogate
      out += "\xEF\xBF\xBD";
      continue;
    }
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace swmld::swml
