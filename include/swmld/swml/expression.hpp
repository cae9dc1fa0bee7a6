// `${...}` / `%{...}` expressions (swml-reference.md §3): plain variable paths resolved
// directly, everything else evaluated as JavaScript by a sandboxed Duktape heap.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "swmld/core/error.hpp"
#include "swmld/core/value.hpp"

namespace swmld::swml {

// The variables an expression can see. Pointers are never null (use an empty object).
// Unprefixed names resolve vars -> envs -> call (swml-reference §3.3).
struct Scope {
  const Value* call;
  const Value* vars;
  const Value* params;
  const Value* envs;
};

struct SandboxLimits {
  std::size_t heap_bytes = 8 * 1024 * 1024;      // per call's JS heap
  std::chrono::milliseconds time{150};          // per evaluation
  std::size_t max_expression_length = 4096;     // characters inside one placeholder
  std::size_t max_result_bytes = 1024 * 1024;   // the expanded value's size
};

// True when `s` contains at least one `${` or `%{` placeholder.
bool has_placeholder(std::string_view s);
// True when a string of `v`, at any depth, contains a placeholder (expanding `v` changes it).
bool has_placeholders(const Value& v);

// True when `expr` is a plain variable path (`call.from`, `vars.a.b`, `items[0].name`,
// `request_response_headers.content-type`) that is looked up without JavaScript.
bool is_plain_path(std::string_view expr);

// Evaluates expressions for one call. Not thread-safe: owned by one call's executor.
// The JavaScript heap is created on first use, so documents without JS cost nothing.
class ExpressionEngine {
 public:
  explicit ExpressionEngine(SandboxLimits limits = {});
  ~ExpressionEngine();
  ExpressionEngine(const ExpressionEngine&) = delete;
  ExpressionEngine& operator=(const ExpressionEngine&) = delete;

  // Expands every placeholder in `v` (recursively through arrays and objects; keys are not
  // expanded). A string that is exactly one placeholder keeps the result's type
  // (`"${1+1}"` -> 2); placeholders embedded in text are converted to strings and
  // concatenated. A path with no value expands to "" (null when it is the whole string).
  // Errors use ErrorCode::js_eval_error with a message naming the expression.
  // With `warnings`, a placeholder whose evaluation fails (a ReferenceError, a syntax error
  // inside it, a limit) expands like a path with no value and its error is appended there
  // instead; a malformed placeholder (`${` never closed) still fails the whole expansion.
  Result<Value> expand(const Value& v, const Scope& scope, std::vector<Error>* warnings = nullptr);

  // Evaluates a bare JavaScript condition (`cond.when`, `goto.when`) to its truthiness.
  Result<bool> condition(std::string_view js, const Scope& scope);

  // Looks up a bare variable path (`switch.variable`); null when it has no value.
  Value lookup(std::string_view path, const Scope& scope) const;

 private:
  class Js;
  // One placeholder's inside (`whole` is the placeholder as written, for messages); as_text
  // gives the embedded (string) form.
  Result<Value> evaluate(std::string_view expr, std::string_view whole, const Scope& scope,
                         bool as_text);
  Result<Value> expand_string(const std::string& s, const Scope& scope,
                              std::vector<Error>* warnings);
  Status expand_in_place(Value& v, const Scope& scope, std::vector<Error>* warnings);

  SandboxLimits limits_;
  std::unique_ptr<Js> js_;
};

}  // namespace swmld::swml
