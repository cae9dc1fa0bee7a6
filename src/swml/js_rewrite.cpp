// Arrow-function and template-literal rewriting for Duktape (ES5 + parts of ES2015).
#include "js_rewrite.hpp"

#include <algorithm>
#include <cstddef>

#include "js_lexer.hpp"

namespace swmld::swml::js {

namespace {

constexpr int kMaxNesting = 48;  // arrows in arrows / templates in templates
constexpr std::size_t kNone = static_cast<std::size_t>(-1);

bool is_punct(const Token& t, std::string_view p) {
  return t.kind == TokenKind::punct && t.text == p;
}

bool is_opener(const Token& t) {
  return t.kind == TokenKind::punct && (t.text == "(" || t.text == "[" || t.text == "{");
}

bool is_closer(const Token& t) {
  return t.kind == TokenKind::punct && (t.text == ")" || t.text == "]" || t.text == "}");
}

class Rewriter {
 public:
  Rewriter(Prepared& p, int depth) : p_(p), depth_(depth) {}

  // Appends the rewrite of `src` to p_.body; false (with p_.error set) on failure.
  bool run(std::string_view src) {
    if (depth_ > kMaxNesting) return fail("expression nested too deeply");
    LexResult lexed = lex(src, false, kMaxNesting - depth_);
    if (!lexed.error.empty()) return fail(lexed.error);
    toks_ = std::move(lexed.tokens);
    if (!match_brackets()) return false;
    collect_names();
    return emit(0, toks_.size(), depth_);
  }

 private:
  bool fail(std::string_view msg) {
    if (p_.error.empty()) p_.error = "SyntaxError: " + std::string(msg);
    return false;
  }

  bool match_brackets() {
    match_.assign(toks_.size(), kNone);
    std::vector<std::size_t> open;
    for (std::size_t i = 0; i < toks_.size(); ++i) {
      if (is_opener(toks_[i])) {
        open.push_back(i);
      } else if (is_closer(toks_[i])) {
        const char want = toks_[i].text[0] == ')' ? '(' : toks_[i].text[0] == ']' ? '[' : '{';
        if (open.empty() || toks_[open.back()].text[0] != want) {
          return fail("unbalanced '" + std::string(toks_[i].text) + "'");
        }
        match_[open.back()] = i;
        match_[i] = open.back();
        open.pop_back();
      }
    }
    if (!open.empty()) return fail("unbalanced '" + std::string(toks_[open.back()].text) + "'");
    return true;
  }

  void collect_names() {
    for (std::size_t i = 0; i < toks_.size(); ++i) {
      const Token& t = toks_[i];
      if (t.kind != TokenKind::ident) continue;
      if (i > 0 && (is_punct(toks_[i - 1], ".") || is_punct(toks_[i - 1], "?."))) continue;
      if (t.text == "this" || t.text == "eval" || t.text == "arguments" || t.text == "Function") {
        p_.dynamic_scope = true;
      }
      if (std::find(p_.names.begin(), p_.names.end(), t.text) == p_.names.end()) {
        p_.names.emplace_back(t.text);
      }
    }
  }

  void gap(const Token& t) {
    if (t.newline_before) {
      p_.body += '\n';
    } else if (t.space_before) {
      p_.body += ' ';
    }
  }

  // Emits tokens [b, e); every bracket inside the range is matched inside it.
  bool emit(std::size_t b, std::size_t e, int depth) {
    if (depth > kMaxNesting) return fail("expression nested too deeply");
    std::size_t i = b;
    while (i < e) {
      const Token& t = toks_[i];
      std::size_t arrow = kNone;
      if (t.kind == TokenKind::ident && i + 1 < e && is_punct(toks_[i + 1], "=>")) {
        arrow = i + 1;
      } else if (is_punct(t, "(") && match_[i] != kNone && match_[i] + 1 < e &&
                 is_punct(toks_[match_[i] + 1], "=>")) {
        arrow = match_[i] + 1;
      }
      if (arrow == kNone) {
        gap(t);
        if (t.kind == TokenKind::template_literal) {
          if (!emit_template(t.text, depth)) return false;
        } else {
          p_.body += t.text;
        }
        ++i;
        continue;
      }
      gap(t);
      p_.body += "function(";
      if (t.kind == TokenKind::ident) {
        p_.body += t.text;
      } else if (!emit(i + 1, match_[i], depth + 1)) {
        return false;
      }
      p_.body += ')';
      const std::size_t body = arrow + 1;
      if (body < e && is_punct(toks_[body], "{")) {  // block body: only the head changes
        p_.body += '{';
        if (!emit(body + 1, match_[body], depth + 1)) return false;
        gap(toks_[match_[body]]);
        p_.body += '}';
        i = match_[body] + 1;
        continue;
      }
      std::size_t k = body;  // expression body: up to a separator at this level
      while (k < e) {
        if (is_opener(toks_[k])) {
          k = match_[k] + 1;
          continue;
        }
        if (is_closer(toks_[k]) || is_punct(toks_[k], ",") || is_punct(toks_[k], ";")) break;
        ++k;
      }
      p_.body += "{return (";
      if (!emit(body, k, depth + 1)) return false;
      p_.body += "\n);}";
      i = k;
    }
    return true;
  }

  // `a${x}b` -> ("" + "a" + (x) + "b"); the literal parts keep their escapes.
  bool emit_template(std::string_view text, int depth) {
    const std::string_view inner = text.substr(1, text.size() - 2);
    p_.body += "(\"\"";
    std::string lit;
    auto flush = [&] {
      if (lit.empty()) return;
      p_.body += "+\"";
      p_.body += lit;
      p_.body += '"';
      lit.clear();
    };
    std::size_t i = 0;
    while (i < inner.size()) {
      const char c = inner[i];
      if (c == '\\' && i + 1 < inner.size()) {
        lit += c;
        lit += inner[i + 1];
        i += 2;
        if (inner[i - 1] == '\r' && i < inner.size() && inner[i] == '\n') ++i;
      } else if (c == '$' && i + 1 < inner.size() && inner[i + 1] == '{') {
        const LexResult end = lex(inner.substr(i + 2), true, kMaxNesting - depth);
        if (!end.error.empty()) return fail(end.error);
        flush();
        p_.body += "+(";
        Rewriter sub(p_, depth + 1);
        if (!sub.run(inner.substr(i + 2, end.end))) return false;
        p_.body += "\n)";
        i += 2 + end.end + 1;
      } else if (c == '"') {
        lit += "\\\"";
        ++i;
      } else if (c == '\n') {
        lit += "\\n";
        ++i;
      } else if (c == '\r') {
        lit += "\\r";
        ++i;
      } else if (c == '\xE2' && i + 2 < inner.size() && inner[i + 1] == '\x80' &&
                 (inner[i + 2] == '\xA8' || inner[i + 2] == '\xA9')) {
        lit += inner[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";  // not allowed raw in ES5 strings
        i += 3;
      } else {
        lit += c;
        ++i;
      }
    }
    flush();
    p_.body += ')';
    return true;
  }

  Prepared& p_;
  int depth_;
  std::vector<Token> toks_;
  std::vector<std::size_t> match_;
};

}  // namespace

Prepared prepare(std::string_view expr) {
  Prepared p;
  Rewriter rw(p, 0);
  if (!rw.run(expr)) {
    p.body.clear();
    p.names.clear();
  }
  return p;
}

}  // namespace swmld::swml::js
