// A small JavaScript tokenizer for expressions: finds where a `${...}` placeholder ends and
// feeds the rewriter (js_rewrite.hpp). It is not a full ES lexer; see the limits below.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace swmld::swml::js {

enum class TokenKind { ident, number, string, template_literal, regex, punct };

struct Token {
  TokenKind kind;
  std::string_view text;      // a slice of the lexed source (a whole literal for strings etc.)
  bool space_before = false;  // whitespace or a comment preceded it
  bool newline_before = false;
};

struct LexResult {
  std::vector<Token> tokens;
  std::size_t end = 0;  // offset just past the last consumed character (at the closing `}`
                        // when lexing a placeholder)
  std::string error;    // empty on success, else e.g. "unterminated string literal"
};

// Lexes `src`. With `stop_at_close_brace`, stops at the first `}` that is not matched by an
// earlier `{` (the end of a placeholder) and sets `end` to its offset; not finding one is an
// error. Otherwise lexes to the end of `src`.
// Limits: `/` starts a regular expression after an operator, `(`, `[`, `,`, `{`, `;`, a
// keyword like `return`, or at the start; after `)`, `]`, `}`, a name or a literal it is
// division (the usual heuristic; wrong only for a regex directly after a block's `}`).
// Template literals nest up to `max_depth` levels.
LexResult lex(std::string_view src, bool stop_at_close_brace, int max_depth = 16);

bool is_ident_start(char c);
bool is_ident_char(char c);

}  // namespace swmld::swml::js
