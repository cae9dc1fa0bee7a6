// `${...}` / `%{...}` expressions (swml-reference.md §3): plain variable paths resolved
// directly, everything else evaluated as JavaScript by a sandboxed Duktape heap.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
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
  // All the evaluations of one call together (limits.expression_time_per_call); once used
  // up the call's next expansion fails with a fatal error naming the limit. 0: no limit.
  std::chrono::milliseconds per_call{1000};
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

  // ---- time (see docs/architecture.md, "Expressions off the SIP thread") ----
  // Caps each following evaluation at `slice` (0: no cap beyond the limits). An evaluation
  // stopped by the slice fails and sets sliced_out(); it is meant to be run again elsewhere
  // without the slice (evaluations have no side effects, so running one again is safe).
  void set_slice(std::chrono::microseconds slice) { slice_ = slice; }
  bool sliced_out() const { return sliced_out_; }
  void clear_sliced_out() { sliced_out_ = false; }
  // Evaluation time used so far (heap creation excluded).
  std::chrono::nanoseconds used() const { return used_; }
  // The per-call budget is used up: every evaluation fails from now on with budget_error().
  bool budget_exhausted() const { return exhausted_; }
  Error budget_error() const;

 private:
  class Js;
  // One placeholder's inside (`whole` is the placeholder as written, for messages); as_text
  // gives the embedded (string) form.
  Result<Value> evaluate(std::string_view expr, std::string_view whole, const Scope& scope,
                         bool as_text);
  Result<Value> expand_string(const std::string& s, const Scope& scope,
                              std::vector<Error>* warnings);
  Status expand_in_place(Value& v, const Scope& scope, std::vector<Error>* warnings);

  // The time the next evaluation may take: the per-evaluation limit, what is left of the
  // per-call budget, and the slice, whichever is least. Empty: the budget is used up.
  struct Allowance {
    std::chrono::microseconds time{0};
    bool by_budget = false;
    bool by_slice = false;
  };
  std::optional<Allowance> allowance();
  // Books an evaluation's time; true when its failure was the allowance's doing.
  bool account(const Allowance& a);
  // An evaluation was stopped by the slice or the budget: the expansion stops too.
  bool stopped() const { return sliced_out_ || exhausted_; }
  // The error of an evaluation stopped by the budget or the slice.
  Error stop_error(std::string_view kind, std::string_view text) const;

  SandboxLimits limits_;
  std::unique_ptr<Js> js_;
  std::chrono::microseconds slice_{0};
  std::chrono::nanoseconds used_{0};
  bool sliced_out_ = false;
  bool exhausted_ = false;
};

}  // namespace swmld::swml
