// SWML `${...}` / `%{...}` expansion (swml-reference §3): placeholder scanning, plain-path
// lookup without JavaScript, and hand-off of everything else to the Duktape sandbox.
//
// Decisions where SWML is silent:
//  - `${` with no matching `}` is an error ("unterminated placeholder"), not literal text.
//  - `${}` (empty or blank) expands like a missing path: null alone, "" embedded.
//  - A condition containing placeholders has them substituted as text first and the result
//    evaluated as JavaScript (what the docs' "inconsistent results" warning suggests); a
//    condition that is exactly one placeholder is the truthiness of its value.
//  - Path keys are looked up nested first (`a.b` = a -> b); when a key is missing, the rest
//    of the path is tried as one flat key (`request_response_headers.content-type` works
//    whether the headers were stored nested or under dotted names).
#include "swmld/swml/expression.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

#include "expression_text.hpp"
#include "js_lexer.hpp"
#include "js_rewrite.hpp"
#include "js_sandbox.hpp"

namespace swmld::swml {

namespace {

constexpr std::size_t kLabelMax = 80;  // characters of an expression quoted in an error

bool is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Names that look like paths but mean JavaScript: literals and built-in objects
// (`${true}`, `${Math.PI}`, `${JSON}` are evaluated, never looked up).
bool is_js_name(std::string_view w) {
  static constexpr std::string_view kNames[] = {
      "true",   "false",  "null",   "undefined", "NaN",    "Infinity", "this",
      "Math",   "JSON",   "Number", "String",    "Array",  "Object",   "Date",
      "Boolean", "RegExp", "typeof", "new",      "void",   "delete",   "function"};
  for (auto n : kNames) {
    if (n == w) return true;
  }
  return false;
}

const Value* member(const Value* node, std::string_view key) {
  if (node->is_object()) {
    auto it = node->find(key);
    return it == node->end() ? nullptr : &*it;
  }
  if (node->is_array() && !key.empty() && key.size() <= 9) {
    std::size_t idx = 0;
    for (char c : key) {
      if (!is_digit(c)) return nullptr;
      idx = idx * 10 + static_cast<std::size_t>(c - '0');
    }
    return idx < node->size() ? &(*node)[idx] : nullptr;
  }
  return nullptr;
}

// Follows `.key` / `[n]` steps of a path already checked by is_plain_path. A `.key` that
// leads nowhere is retried as one flat key made of the rest of the path ("a.b-c" in `node`).
// Recursion depth is the number of steps, bounded by max_expression_length.
const Value* walk(const Value* node, std::string_view rest) {
  if (node == nullptr || rest.empty()) return node;
  std::size_t i = 1;
  if (rest[0] == '[') {
    while (rest[i] != ']') ++i;
    return walk(member(node, rest.substr(1, i - 1)), rest.substr(i + 1));
  }
  while (i < rest.size() && rest[i] != '.' && rest[i] != '[') ++i;
  if (const Value* found = walk(member(node, rest.substr(1, i - 1)), rest.substr(i))) return found;
  return i < rest.size() ? member(node, rest.substr(1)) : nullptr;
}

const Value* resolve(std::string_view path, const Scope& sc) {
  std::size_t i = 0;
  while (i < path.size() && is_word(path[i])) ++i;
  const std::string_view head = path.substr(0, i);
  const std::string_view rest = path.substr(i);
  if (head == "call") return walk(sc.call, rest);
  if (head == "vars") return walk(sc.vars, rest);
  if (head == "params") return walk(sc.params, rest);
  if (head == "envs") return walk(sc.envs, rest);
  // The first scope that has the name (or the whole dotted path as a key) decides.
  for (const Value* s : {sc.vars, sc.envs, sc.call}) {
    if (const Value* root = member(s, head)) {
      if (const Value* found = walk(root, rest)) return found;
      return rest.empty() ? root : member(s, path);
    }
    if (!rest.empty()) {
      if (const Value* flat = member(s, path)) return flat;
    }
  }
  return nullptr;
}

bool truthy(const Value& v) {
  switch (v.type()) {
    case Value::value_t::null:
    case Value::value_t::discarded:
      return false;
    case Value::value_t::boolean:
      return v.get<bool>();
    case Value::value_t::number_integer:
      return v.get<std::int64_t>() != 0;
    case Value::value_t::number_unsigned:
      return v.get<std::uint64_t>() != 0;
    case Value::value_t::number_float: {
      const double d = v.get<double>();
      return d != 0 && !std::isnan(d);
    }
    case Value::value_t::string:
      return !v.get_ref<const std::string&>().empty();
    default:
      return true;  // objects, arrays (even empty), binary
  }
}

std::string label(std::string_view kind, std::string_view text) {
  std::string s(kind);
  s += " '";
  if (text.size() > kLabelMax) {
    s += text.substr(0, kLabelMax - 3);
    s += "...";
  } else {
    s += text;
  }
  s += '\'';
  return s;
}

Error eval_error(std::string_view kind, std::string_view text, std::string_view why) {
  std::string msg = label(kind, text);
  msg += ": ";
  msg += why;
  return make_error(ErrorCode::js_eval_error, std::move(msg));
}

// A piece of a string: literal text, or the inside of one placeholder.
struct Piece {
  bool placeholder;
  std::string_view text;  // literal text, or the expression between the braces
  std::string_view whole;  // placeholders: `${...}` as written, for messages
};

bool opens_placeholder(std::string_view s, std::size_t i) {
  return (s[i] == '$' || s[i] == '%') && i + 1 < s.size() && s[i + 1] == '{';
}

// Offset of the `}` closing the placeholder whose inside starts at `inner`, or an error.
// Most placeholders hold no quotes, braces or slashes: those skip the lexer.
std::size_t placeholder_end(std::string_view inner, std::string* error) {
  const std::size_t close = inner.find('}');
  if (close != std::string_view::npos &&
      inner.substr(0, close).find_first_of("{'\"`/") == std::string_view::npos) {
    return close;
  }
  const js::LexResult r = js::lex(inner, true);
  if (!r.error.empty()) *error = r.error;
  return r.end;
}

}  // namespace

bool has_placeholder(std::string_view s) {
  for (std::size_t i = s.find('{', 1); i != std::string_view::npos; i = s.find('{', i + 1)) {
    if (s[i - 1] == '$' || s[i - 1] == '%') return true;
  }
  return false;
}

bool is_plain_path(std::string_view expr) {
  if (expr.empty() || !(is_word(expr[0]) && !is_digit(expr[0]))) return false;
  std::size_t i = 0;
  while (i < expr.size() && is_word(expr[i])) ++i;
  if (is_js_name(expr.substr(0, i))) return false;
  while (i < expr.size()) {
    if (expr[i] == '.') {
      const std::size_t start = ++i;
      while (i < expr.size() && (is_word(expr[i]) || expr[i] == '-')) ++i;
      if (i == start) return false;
    } else if (expr[i] == '[') {
      const std::size_t start = ++i;
      while (i < expr.size() && is_digit(expr[i])) ++i;
      if (i == start || i >= expr.size() || expr[i] != ']') return false;
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

// Owns the sandbox so the header needs no Duktape types.
class ExpressionEngine::Js {
 public:
  explicit Js(const SandboxLimits& limits) : sandbox(limits) {}
  js::Sandbox sandbox;
};

ExpressionEngine::ExpressionEngine(SandboxLimits limits) : limits_(limits) {}

ExpressionEngine::~ExpressionEngine() = default;

namespace {

// Splits `s` into literal and placeholder pieces; false (and `err`) on a malformed one.
bool split_pieces(std::string_view s, const SandboxLimits& limits, std::vector<Piece>& out,
                  Error& err) {
  std::size_t lit = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    if (!opens_placeholder(s, i)) {
      ++i;
      continue;
    }
    if (i > lit) out.push_back(Piece{false, s.substr(lit, i - lit), {}});
    const std::string_view inner = s.substr(i + 2);
    std::string lex_error;
    const std::size_t end = placeholder_end(inner, &lex_error);
    const std::string_view whole = s.substr(i, 2 + end + 1);
    if (!lex_error.empty()) {
      err = eval_error("expression", whole, "SyntaxError: " + lex_error);
      return false;
    }
    if (end > limits.max_expression_length) {
      err = eval_error("expression", whole,
                       "too long (" + std::to_string(end) + " characters, limit " +
                           std::to_string(limits.max_expression_length) + ")");
      return false;
    }
    out.push_back(Piece{true, inner.substr(0, end), whole});
    i += 2 + end + 1;
    lit = i;
  }
  if (lit < s.size()) out.push_back(Piece{false, s.substr(lit), {}});
  return true;
}

}  // namespace

// Evaluates one placeholder's inside. Paths never reach the sandbox.
Result<Value> ExpressionEngine::evaluate(std::string_view expr, std::string_view whole,
                                         const Scope& scope, bool as_text) {
  const std::string_view e = trim(expr);
  if (e.empty() || is_plain_path(e)) {
    const Value* v = e.empty() ? nullptr : resolve(e, scope);
    if (as_text) return Value(v == nullptr ? std::string() : embed_text(*v));
    return v == nullptr ? Value() : *v;
  }
  const js::Prepared prepared = js::prepare(e);
  if (!prepared.error.empty()) return eval_error("expression", whole, prepared.error);
  if (!js_) js_ = std::make_unique<Js>(limits_);
  const auto allowed = stopped() ? std::nullopt : allowance();
  if (!allowed) return stop_error("expression", whole);
  auto out = js_->sandbox.evaluate(prepared, scope, as_text ? js::Want::text : js::Want::value,
                                   allowed->time);
  if (account(*allowed)) return stop_error("expression", whole);
  if (!out) return eval_error("expression", whole, out.error().message);
  if (as_text) return Value(std::move(out->text));
  return std::move(out->value);
}

Result<Value> ExpressionEngine::expand_string(const std::string& s, const Scope& scope,
                                              std::vector<Error>* warnings) {
  std::vector<Piece> pieces;
  Error err;
  if (!split_pieces(s, limits_, pieces, err)) return err;
  if (pieces.size() == 1 && pieces[0].placeholder) {  // the whole string: keeps its type
    auto v = evaluate(pieces[0].text, pieces[0].whole, scope, false);
    if (v || !warnings || stopped()) return v;
    warnings->push_back(v.error());
    return Value();
  }
  std::string out;
  for (const Piece& p : pieces) {
    if (!p.placeholder) {
      out += p.text;
    } else {
      auto v = evaluate(p.text, p.whole, scope, true);
      if (v) {
        out += v->get_ref<const std::string&>();
      } else if (warnings && !stopped()) {
        warnings->push_back(v.error());
      } else {
        return v.error();
      }
    }
    if (out.size() > limits_.max_result_bytes) {
      return make_error(ErrorCode::js_eval_error,
                        label("string", s.substr(0, kLabelMax)) + ": expanded text too large (limit " +
                            std::to_string(limits_.max_result_bytes) + " bytes)");
    }
  }
  return Value(std::move(out));
}

bool has_placeholders(const Value& v) {
  if (v.is_string()) return has_placeholder(v.get_ref<const std::string&>());
  if (v.is_array() || v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it)
      if (has_placeholders(it.value())) return true;
  }
  return false;
}

Status ExpressionEngine::expand_in_place(Value& v, const Scope& scope,
                                         std::vector<Error>* warnings) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (!has_placeholder(s)) return Ok{};
    auto r = expand_string(s, scope, warnings);
    if (!r) return r.error();
    v = std::move(*r);
  } else if (v.is_array() || v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      Status st = expand_in_place(it.value(), scope, warnings);
      if (!st) return st;
    }
  }
  return Ok{};
}

Result<Value> ExpressionEngine::expand(const Value& v, const Scope& scope,
                                       std::vector<Error>* warnings) {
  if (v.is_string() && !has_placeholder(v.get_ref<const std::string&>())) return v;  // fast path
  Value out = v;
  Status st = expand_in_place(out, scope, warnings);
  if (!st) return st.error();
  return out;
}

Result<bool> ExpressionEngine::condition(std::string_view js_text, const Scope& scope) {
  const std::string_view e = trim(js_text);
  if (e.empty()) return false;
  if (e.size() > limits_.max_expression_length) {
    return eval_error("condition", e,
                      "too long (" + std::to_string(e.size()) + " characters, limit " +
                          std::to_string(limits_.max_expression_length) + ")");
  }
  if (is_plain_path(e)) {
    const Value* v = resolve(e, scope);
    return v != nullptr && truthy(*v);
  }
  std::string substituted;
  std::string_view code = e;
  if (has_placeholder(e)) {
    auto r = expand_string(std::string(e), scope, nullptr);
    if (!r) return r.error();
    if (!r->is_string()) return truthy(*r);  // exactly one placeholder: its value decides
    substituted = r->get<std::string>();
    code = trim(substituted);
    if (code.empty()) return false;
    if (is_plain_path(code)) {
      const Value* v = resolve(code, scope);
      return v != nullptr && truthy(*v);
    }
  }
  const js::Prepared prepared = js::prepare(code);
  if (!prepared.error.empty()) return eval_error("condition", e, prepared.error);
  if (!js_) js_ = std::make_unique<Js>(limits_);
  const auto allowed = stopped() ? std::nullopt : allowance();
  if (!allowed) return stop_error("condition", e);
  auto out = js_->sandbox.evaluate(prepared, scope, js::Want::truth, allowed->time);
  if (account(*allowed)) return stop_error("condition", e);
  if (!out) return eval_error("condition", e, out.error().message);
  return out->truth;
}

std::optional<ExpressionEngine::Allowance> ExpressionEngine::allowance() {
  if (exhausted_) return std::nullopt;
  Allowance a;
  a.time = limits_.time;
  if (limits_.per_call.count() > 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::microseconds>(limits_.per_call - used_);
    if (left.count() <= 0) {
      exhausted_ = true;
      return std::nullopt;
    }
    if (left < a.time) {
      a.time = left;
      a.by_budget = true;
    }
  }
  if (slice_.count() > 0 && slice_ < a.time) {
    a.time = slice_;
    a.by_slice = true;
    a.by_budget = false;
  }
  return a;
}

bool ExpressionEngine::account(const Allowance& a) {
  used_ += js_->sandbox.last_elapsed();
  if (!js_->sandbox.last_timed_out()) return false;
  if (a.by_slice) {
    sliced_out_ = true;
    return true;
  }
  if (a.by_budget) {
    exhausted_ = true;
    return true;
  }
  return false;
}

Error ExpressionEngine::stop_error(std::string_view kind, std::string_view text) const {
  return exhausted_ ? budget_error() : eval_error(kind, text, "stopped at the slice");
}

Error ExpressionEngine::budget_error() const {
  return make_error(ErrorCode::js_eval_error,
                    "expression time budget of " + std::to_string(limits_.per_call.count()) +
                        " ms per call used up (limits.expression_time_per_call)");
}

Value ExpressionEngine::lookup(std::string_view path, const Scope& scope) const {
  std::string_view p = trim(path);
  // Lenient: `${prompt_value}` is accepted where a bare name is expected.
  if (p.size() >= 3 && opens_placeholder(p, 0) && p.back() == '}') {
    p = trim(p.substr(2, p.size() - 3));
  }
  if (!is_plain_path(p)) return Value();
  const Value* v = resolve(p, scope);
  return v == nullptr ? Value() : *v;
}

}  // namespace swmld::swml
