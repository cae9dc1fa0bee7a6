// The sandboxed Duktape heap of one call: a memory cap, a deadline per evaluation, frozen
// built-ins and a fresh global object per evaluation, so no evaluation sees another's traces.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "js_rewrite.hpp"
#include "swmld/core/error.hpp"
#include "swmld/core/value.hpp"
#include "swmld/swml/expression.hpp"

namespace swmld::swml::js {

// What the caller needs from an evaluation; converting inside the heap avoids a round trip.
enum class Want {
  value,  // the result as a Value (objects and arrays through JSON)
  text,   // the result as text: strings as-is, null/undefined "", objects as JSON, else String(x)
  truth,  // the result's JavaScript truthiness
};

struct Outcome {
  Value value;       // Want::value
  std::string text;  // Want::text
  bool truth = false;  // Want::truth
};

// Not thread-safe; lives on the call's strand like the ExpressionEngine that owns it.
// What an expression can reach: its variables (copied in per evaluation), the ES5 built-ins
// plus what Duktape 2.7 adds (typed arrays, Proxy, Reflect, Symbol, TextEncoder/Decoder,
// CBOR, performance.now) and our small polyfills, all frozen. The `Duktape` object
// (finalizers, coroutines, call-stack access, gc) is deleted. There is no I/O of any kind.
class Sandbox {
 public:
  explicit Sandbox(const SandboxLimits& limits);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  // Runs `prepared.body` (must have no error) with the scope's variables as globals.
  // Errors are js_eval_error with a message such as "ReferenceError: identifier 'x'
  // undefined", "expression timed out after 150 ms" or "expression ran out of memory
  // (8 MiB)"; the caller prefixes the expression. The heap stays usable afterwards.
  // `time` is this evaluation's limit (at most SandboxLimits::time, see ExpressionEngine).
  Result<Outcome> evaluate(const Prepared& prepared, const Scope& scope, Want want,
                           std::chrono::microseconds time);

  // How long the last evaluation ran (heap creation excluded), and whether its time limit
  // stopped it.
  std::chrono::nanoseconds last_elapsed() const { return last_elapsed_; }
  bool last_timed_out() const { return last_timed_out_; }

  // Bytes currently allocated by the heap (0 before the first evaluation).
  std::size_t heap_bytes() const;

 private:
  struct Heap;
  SandboxLimits limits_;
  std::unique_ptr<Heap> heap_;
  std::chrono::nanoseconds last_elapsed_{0};
  bool last_timed_out_ = false;
};

}  // namespace swmld::swml::js
