// Value-level validation for method properties: types, enums, ranges and the text forms
// SWML gives meaning to (playable sounds, variable paths, DTMF digits).
#include "value_checks.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <vector>

namespace swmld::swml::detail {
namespace {

bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word(char c) { return is_alpha(c) || is_digit(c) || c == '_'; }

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// `[0-9.]*` at the front of s; returns what follows.
std::string_view skip_seconds(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && (is_digit(s[i]) || s[i] == '.')) ++i;
  return s.substr(i);
}

bool is_country(std::string_view s) {
  if (s == "us-old") return true;  // listed by the reference although the schema regex misses it
  return s.size() == 2 && is_alpha(s[0]) && is_alpha(s[1]);
}

std::string number_text(double d) {
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15)
    return std::to_string(static_cast<long long>(d));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", d);
  return buf;
}

std::string enum_list(std::string_view enums) {
  std::string out;
  for (char ch : enums) out += ch == ',' ? std::string(", ") : std::string(1, ch);
  return out;
}

bool in_enum(std::string_view enums, std::string_view value) {
  while (!enums.empty()) {
    auto comma = enums.find(',');
    if (enums.substr(0, comma) == value) return true;
    if (comma == std::string_view::npos) break;
    enums.remove_prefix(comma + 1);
  }
  return false;
}

std::string prop_label(std::string_view where, std::string_view name) {
  return std::string(where) + ": property '" + std::string(name) + "'";
}

bool check_item_strings(const PropSpec& spec, const Node& list, std::string_view where,
                        Diagnostics& diag) {
  bool ok = true;
  for (std::size_t i = 0; i < list.items.size(); ++i) {
    const Node& item = *list.items[i];
    std::string label = prop_label(where, spec.name) + " item " + std::to_string(i + 1);
    if (!item.is_string()) {
      diag.add(ErrorCode::element_wrong_type,
               label + " must be a string, not " + std::string(describe(item)), item);
      ok = false;
      continue;
    }
    if (mentions_expression(item.str())) continue;
    if (spec.check == Check::sounds && !is_playable_sound(item.str())) {
      diag.add(ErrorCode::method_parameter_invalid_value,
               label + ": " + quote_text(item.str()) +
                   " is not a playable sound (use say:, silence:, ring:, http://, https:// or file:)",
               item);
      ok = false;
    }
    if (spec.check == Check::enum_list && !in_enum(spec.enums, item.str())) {
      diag.add(ErrorCode::method_parameter_invalid_value,
               label + " must be one of " + enum_list(spec.enums) + " (got " +
                   quote_text(item.str()) + ")",
               item);
      ok = false;
    }
  }
  return ok;
}

}  // namespace

bool mentions_expression(std::string_view s) {
  for (std::size_t i = 0; i + 1 < s.size(); ++i)
    if ((s[i] == '$' || s[i] == '%') && s[i + 1] == '{') return true;
  return false;
}

bool is_playable_sound(std::string_view s) {
  if (mentions_expression(s)) return true;
  if (starts_with_nocase(s, "http://") || starts_with_nocase(s, "https://")) return true;
  if (s.starts_with("say:")) return true;
  if (s.starts_with("file:") && s.size() > 5) return true;  // swmld: a file under media.root
  auto after = [](std::string_view t, std::string_view prefix) {
    t.remove_prefix(prefix.size());
    if (!t.empty() && t[0] == ' ') t.remove_prefix(1);
    return t;
  };
  if (s.starts_with("silence:")) return skip_seconds(after(s, "silence:")).empty();
  if (s.starts_with("ring:")) {
    std::string_view rest = after(s, "ring:");
    if (is_country(rest)) return true;
    rest = skip_seconds(rest);
    if (rest.empty() || rest[0] != ':') return false;
    rest.remove_prefix(1);
    if (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
    return is_country(rest);
  }
  return false;
}

bool is_variable_path(std::string_view s) {
  if (s.empty() || !(is_alpha(s[0]) || s[0] == '_')) return false;
  std::size_t i = 1;
  while (i < s.size() && is_word(s[i])) ++i;
  while (i < s.size()) {
    if (s[i] == '.') {
      std::size_t start = ++i;
      while (i < s.size() && (is_word(s[i]) || s[i] == '-')) ++i;
      if (i == start) return false;
    } else if (s[i] == '[') {
      std::size_t start = ++i;
      while (i < s.size() && is_digit(s[i])) ++i;
      if (i == start || i >= s.size() || s[i] != ']') return false;
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

bool is_external_dest(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return mentions_expression(s) || starts_with_nocase(s, "http://") ||
         starts_with_nocase(s, "https://") || s.starts_with("{") || s.starts_with("relay:");
}

std::string closest(std::string_view word, std::span<const std::string_view> candidates) {
  if (word.size() > 64) return {};
  std::string best;
  std::size_t best_d = 3;
  std::vector<std::size_t> prev, cur;
  for (auto cand : candidates) {
    if (cand.empty() || cand.size() > 64) continue;
    prev.assign(cand.size() + 1, 0);
    cur.assign(cand.size() + 1, 0);
    for (std::size_t j = 0; j <= cand.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= word.size(); ++i) {
      cur[0] = i;
      for (std::size_t j = 1; j <= cand.size(); ++j) {
        std::size_t sub = prev[j - 1] + (word[i - 1] == cand[j - 1] ? 0 : 1);
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      }
      std::swap(prev, cur);
    }
    std::size_t d = prev[cand.size()];
    // A two-letter word is two edits away from anything; only suggest real near-misses.
    if (d < best_d && d < word.size()) {
      best_d = d;
      best = std::string(cand);
    }
  }
  return best;
}

std::string quote_text(std::string_view text) {
  constexpr std::size_t max = 60;
  // Cut on a UTF-8 character boundary so the message stays valid UTF-8.
  std::size_t cut = std::min(max, text.size());
  while (cut < text.size() && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return "'" + printable(text.substr(0, cut)) + (cut < text.size() ? "...'" : "'");
}

bool type_fits(std::uint8_t types, const Node& v) {
  switch (v.kind) {
    case Node::Kind::string:
      return (types & t_string) || mentions_expression(v.str());
    case Node::Kind::integer:
      return (types & (t_integer | t_number)) != 0;
    case Node::Kind::floating: {
      if (types & t_number) return true;
      double d = v.scalar.get<double>();
      return (types & t_integer) && std::isfinite(d) && d == std::floor(d);
    }
    case Node::Kind::boolean: return (types & t_boolean) != 0;
    case Node::Kind::mapping: return (types & t_object) != 0;
    case Node::Kind::sequence: return (types & t_array) != 0;
    case Node::Kind::null: return (types & t_null) != 0;
  }
  return false;
}

std::string type_names(std::uint8_t types) {
  std::vector<std::string_view> names;
  if (types & t_string) names.push_back("a string");
  if (types & t_integer && !(types & t_number)) names.push_back("an integer");
  if (types & t_number) names.push_back("a number");
  if (types & t_boolean) names.push_back("a boolean");
  if (types & t_object) names.push_back("a mapping");
  if (types & t_array) names.push_back("a list");
  if (types & t_null) names.push_back("null");
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out.empty() ? "nothing" : out;
}

bool check_value(const PropSpec& spec, const Node& v, std::string_view where, Diagnostics& diag) {
  std::string label = prop_label(where, spec.name);
  if (!type_fits(spec.types, v)) {
    std::string msg = label + " must be " + type_names(spec.types) + ", not " +
                      std::string(describe(v));
    if (spec.types == t_string && v.is_scalar() && !v.is_null())
      msg += " (quote it to keep it as text)";
    diag.add(ErrorCode::element_wrong_type, std::move(msg), v);
    return false;
  }
  // switch.variable names a variable; a `${...}` there is a common mistake (reference §3.4).
  if (spec.check == Check::var_path && !is_variable_path(v.str())) {
    std::string msg = label + " must be a bare variable name such as prompt_value or call.type";
    msg += mentions_expression(v.str()) ? ", without ${...}" : "";
    msg += " (got " + quote_text(v.str()) + ")";
    diag.add(ErrorCode::method_parameter_invalid_value, std::move(msg), v);
    return true;
  }
  if (v.is_string() && mentions_expression(v.str())) return true;  // known only at run time

  if (v.is_string() && !spec.enums.empty() && spec.check != Check::enum_list &&
      spec.check != Check::enum_words && !in_enum(spec.enums, v.str())) {
    diag.add(ErrorCode::method_parameter_invalid_value,
             label + " must be one of " + enum_list(spec.enums) + " (got " + quote_text(v.str()) + ")",
             v);
    return true;
  }
  if (v.is_number()) {
    double d = v.scalar.get<double>();
    if (std::isnan(d) || d < spec.min || d > spec.max) {
      std::string range = std::isinf(spec.max) ? "at least " + number_text(spec.min)
                                               : number_text(spec.min) + " to " + number_text(spec.max);
      diag.add(ErrorCode::method_parameter_invalid_value,
               label + " is " + number_text(d) + "; it must be " + range, v);
    }
    return true;
  }

  switch (spec.check) {
    case Check::sound:
      if (!is_playable_sound(v.str()))
        diag.add(ErrorCode::method_parameter_invalid_value,
                 label + ": " + quote_text(v.str()) +
                     " is not a playable sound (use say:, silence:, ring:, http://, https:// or file:)",
                 v);
      break;
    case Check::sound_or_sounds:
      if (v.is_string()) {
        PropSpec one = spec;
        one.check = Check::sound;
        return check_value(one, v, where, diag);
      }
      {
        PropSpec many = spec;
        many.check = Check::sounds;
        check_item_strings(many, v, where, diag);
      }
      break;
    case Check::sounds:
    case Check::string_list:
    case Check::enum_list:
      check_item_strings(spec, v, where, diag);
      break;
    case Check::enum_words: {
      // One or more words separated by spaces; the first one not in the enum is reported.
      std::string_view rest = v.str();
      std::string bad;
      bool any = false;
      while (bad.empty()) {
        auto start = rest.find_first_not_of(" \t");
        if (start == std::string_view::npos) break;
        rest.remove_prefix(start);
        std::string_view word = rest.substr(0, rest.find_first_of(" \t"));
        rest.remove_prefix(word.size());
        any = true;
        if (!in_enum(spec.enums, word)) bad = std::string(word);
      }
      if (!any || !bad.empty())
        diag.add(ErrorCode::method_parameter_invalid_value,
                 label + " must list events among " + enum_list(spec.enums) +
                     ", separated by spaces (got " + quote_text(any ? bad : v.str()) + ")",
                 v);
      break;
    }
    case Check::name_value_list:
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        const Node& item = *v.items[i];
        std::string item_label = label + " item " + std::to_string(i + 1);
        if (!item.is_mapping()) {
          diag.add(ErrorCode::element_wrong_type,
                   item_label + " must be a mapping {name, value}, not " +
                       std::string(describe(item)),
                   item);
          continue;
        }
        for (std::string_view key : {std::string_view("name"), std::string_view("value")})
          if (!item.find(key))
            diag.add(ErrorCode::method_parameter_missing,
                     item_label + " is missing '" + std::string(key) + "'", item);
        for (const auto& e : item.entries) {
          if (e.key != "name" && e.key != "value")
            diag.add(ErrorCode::method_parameter_undefined,
                     item_label + " has an unknown property '" + e.key + "'", e);
          else if (!e.value->is_string())
            diag.add(ErrorCode::element_wrong_type,
                     item_label + ": '" + e.key + "' must be a string, not " +
                         std::string(describe(*e.value)),
                     *e.value);
        }
      }
      break;
    case Check::object_list:
      for (std::size_t i = 0; i < v.items.size(); ++i)
        if (!v.items[i]->is_mapping())
          diag.add(ErrorCode::element_wrong_type,
                   label + " item " + std::to_string(i + 1) + " must be a mapping, not " +
                       std::string(describe(*v.items[i])),
                   *v.items[i]);
      break;
    case Check::digits: {
      static constexpr std::string_view allowed = "0123456789*#ABCDabcdWw";
      for (char ch : v.str())
        if (allowed.find(ch) == std::string_view::npos) {
          diag.add(ErrorCode::method_parameter_invalid_value,
                   label + ": " + quote_text(std::string(1, ch)) +
                       " is not a DTMF digit (use 0-9, *, #, A-D, and W or w to pause)",
                   v);
          break;
        }
      break;
    }
    case Check::label_ref:
      if (v.str().empty())
        diag.add(ErrorCode::method_parameter_invalid_value, label + " must not be empty", v);
      break;
    case Check::dest:
      if (v.str().empty())
        diag.add(ErrorCode::method_parameter_invalid_value, label + " must not be empty", v);
      break;
    default:
      break;
  }
  return true;
}

}  // namespace swmld::swml::detail
