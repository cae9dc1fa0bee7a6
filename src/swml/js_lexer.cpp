// Tokenizer for SWML JavaScript expressions (see js_lexer.hpp for what it does not handle).
#include "js_lexer.hpp"

#include <array>

namespace swmld::swml::js {

namespace {

// Longest first, so `===` wins over `==` and `=>` is one token.
constexpr std::string_view kPuncts[] = {
    ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "?\?=", "=>",
    "==",   "!=",  "<=",  ">=",  "&&",  "||",  "??",  "?.",  "++",  "--",  "**",  "<<",
    ">>",   "+=",  "-=",  "*=",  "/=",  "%=",  "&=",  "|=",  "^=",
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// After these names a `/` begins a regular expression rather than a division.
bool keyword_before_regex(std::string_view w) {
  static constexpr std::array<std::string_view, 13> kWords = {
      "return", "typeof", "instanceof", "in",   "of",    "new",  "delete",
      "void",   "throw",  "case",       "do",   "else",  "yield"};
  for (auto k : kWords) {
    if (k == w) return true;
  }
  return false;
}

bool regex_allowed(const std::vector<Token>& toks) {
  if (toks.empty()) return true;
  const Token& t = toks.back();
  switch (t.kind) {
    case TokenKind::punct:
      return !(t.text == ")" || t.text == "]" || t.text == "}");
    case TokenKind::ident:
      return keyword_before_regex(t.text);
    default:
      return false;
  }
}

}  // namespace

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;  // UTF-8 names: accepted as-is
}

bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

LexResult lex(std::string_view src, bool stop_at_close_brace, int max_depth) {
  LexResult r;
  if (max_depth <= 0) {
    r.error = "template literals nested too deeply";
    return r;
  }
  const std::size_t n = src.size();
  std::size_t i = 0;
  int braces = 0;
  bool space = false;
  bool newline = false;
  auto push = [&](TokenKind kind, std::size_t from) {
    r.tokens.push_back(Token{kind, src.substr(from, i - from), space, newline});
    space = newline = false;
  };
  auto fail = [&](const char* msg) {
    r.error = msg;
    r.end = i;
    return r;
  };

  while (i < n) {
    const char c = src[i];
    if (is_space(c)) {
      space = true;
      newline = newline || c == '\n' || c == '\r';
      ++i;
      continue;
    }
    if (c == '/' && i + 1 < n && src[i + 1] == '/') {  // line comment
      while (i < n && src[i] != '\n' && src[i] != '\r') ++i;
      space = true;
      continue;
    }
    if (c == '/' && i + 1 < n && src[i + 1] == '*') {  // block comment
      const std::size_t close = src.find("*/", i + 2);
      if (close == std::string_view::npos) return fail("unterminated comment");
      const std::string_view body = src.substr(i, close - i);
      newline = newline || body.find_first_of("\r\n") != std::string_view::npos;
      space = true;
      i = close + 2;
      continue;
    }
    const std::size_t from = i;
    if (is_ident_start(c)) {
      while (i < n && is_ident_char(src[i])) ++i;
      push(TokenKind::ident, from);
      continue;
    }
    if (is_digit(c) || (c == '.' && i + 1 < n && is_digit(src[i + 1]))) {
      const bool hex = c == '0' && i + 1 < n && (src[i + 1] == 'x' || src[i + 1] == 'X');
      ++i;
      while (i < n) {
        const char d = src[i];
        if (is_ident_char(d) || d == '.') {
          ++i;
        } else if ((d == '+' || d == '-') && !hex && (src[i - 1] == 'e' || src[i - 1] == 'E')) {
          ++i;
        } else {
          break;
        }
      }
      push(TokenKind::number, from);
      continue;
    }
    if (c == '\'' || c == '"') {
      ++i;
      while (i < n && src[i] != c) {
        if (src[i] == '\\') {
          ++i;  // the escaped character, even a line continuation
        } else if (src[i] == '\n' || src[i] == '\r') {
          return fail("unterminated string literal");
        }
        ++i;
      }
      if (i >= n) return fail("unterminated string literal");
      ++i;
      push(TokenKind::string, from);
      continue;
    }
    if (c == '`') {
      ++i;
      while (i < n && src[i] != '`') {
        if (src[i] == '\\') {
          i += 2;
        } else if (src[i] == '$' && i + 1 < n && src[i + 1] == '{') {
          LexResult inner = lex(src.substr(i + 2), true, max_depth - 1);
          if (!inner.error.empty()) {
            r.error = inner.error;
            r.end = i + 2 + inner.end;
            return r;
          }
          i += 2 + inner.end + 1;
        } else {
          ++i;
        }
      }
      if (i >= n) return fail("unterminated template literal");
      ++i;
      push(TokenKind::template_literal, from);
      continue;
    }
    if (c == '/' && regex_allowed(r.tokens)) {
      ++i;
      bool in_class = false;
      while (i < n && (in_class || src[i] != '/')) {
        if (src[i] == '\n' || src[i] == '\r') return fail("unterminated regular expression");
        if (src[i] == '\\') {
          ++i;
        } else if (src[i] == '[') {
          in_class = true;
        } else if (src[i] == ']') {
          in_class = false;
        }
        ++i;
      }
      if (i >= n) return fail("unterminated regular expression");
      ++i;
      while (i < n && is_ident_char(src[i])) ++i;  // flags
      push(TokenKind::regex, from);
      continue;
    }
    if (c == '{') {
      ++braces;
    } else if (c == '}') {
      if (braces == 0 && stop_at_close_brace) {
        r.end = i;
        return r;
      }
      --braces;
    }
    std::size_t len = 1;
    for (auto p : kPuncts) {
      if (src.substr(i, p.size()) == p) {
        len = p.size();
        break;
      }
    }
    i += len;
    push(TokenKind::punct, from);
  }
  r.end = n;
  if (stop_at_close_brace) r.error = "unterminated placeholder";
  return r;
}

}  // namespace swmld::swml::js
