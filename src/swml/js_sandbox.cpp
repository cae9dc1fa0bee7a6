// Duktape heap management for expressions: counting allocator, execution deadline, the
// frozen base global, and one evaluation = one fresh global object on top of it.
//
// Duktape is compiled as C and reports errors with longjmp. Every Duktape call that can
// throw runs inside duk_safe_call; the functions run there are written C-style (no object
// with a destructor is alive across a Duktape call), so a longjmp never skips a destructor.
// The fatal handler (only reachable through a Duktape bug) prints and aborts.
#include "js_sandbox.hpp"

// The patched duk_config.h declares this hook without a linkage specification; declaring it
// extern "C" first makes that later declaration C as well (it is called from duktape.c).
extern "C" int swmld_duk_exec_timeout_check(void* udata);

#include <duktape.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "expression_text.hpp"
#include "js_prelude.hpp"

namespace swmld::swml::js {

namespace {

using Clock = std::chrono::steady_clock;

// The heap's udata: read by the allocator and the timeout hook on the evaluating thread.
struct HeapState {
  std::size_t used = 0;  // bytes handed to Duktape (without our size headers)
  std::size_t cap = 0;
  // An allocation was refused during this evaluation. Sticky: every later one is refused
  // too, so the script fails at once instead of thrashing the collector near the cap.
  bool refused = false;
  bool armed = false;    // a deadline applies
  bool timed_out = false;
  bool alloc_timed_out = false;
  unsigned allocs = 0;   // allocation counter: the clock is read every kClockEvery allocations
  Clock::time_point deadline;       // the bytecode interrupt stops the script here
  Clock::time_point alloc_deadline;  // a little later, the allocator refuses memory
};

// Native built-ins run without the bytecode interrupt, but most long ones allocate: the
// allocator enforces a second deadline (half the budget later) by refusing memory, so they end
// too. It is later than the first so that a script stopped by the interrupt can unwind
// without every allocation failing, which would make Duktape retry each one after a full
// garbage collection.
constexpr unsigned kClockEvery = 32;

bool past_deadline(HeapState* st) {
  if (!st->armed) return false;
  if (!st->alloc_timed_out && ++st->allocs % kClockEvery == 0 &&
      Clock::now() >= st->alloc_deadline) {
    st->alloc_timed_out = true;
    st->timed_out = true;
  }
  return st->alloc_timed_out;
}

// Each block carries its size in front so that free/realloc can keep `used` exact.
constexpr std::size_t kHeader = alignof(std::max_align_t);

void* sb_alloc(void* udata, duk_size_t size) {
  auto* st = static_cast<HeapState*>(udata);
  if (past_deadline(st) || (st->armed && st->refused)) return nullptr;
  if (size > st->cap - st->used) {
    st->refused = true;
    return nullptr;
  }
  auto* base = static_cast<unsigned char*>(std::malloc(size + kHeader));
  if (base == nullptr) return nullptr;
  std::memcpy(base, &size, sizeof size);
  st->used += size;
  return base + kHeader;
}

void sb_free(void* udata, void* ptr) {
  if (ptr == nullptr) return;
  auto* st = static_cast<HeapState*>(udata);
  unsigned char* base = static_cast<unsigned char*>(ptr) - kHeader;
  duk_size_t size = 0;
  std::memcpy(&size, base, sizeof size);
  st->used -= size;
  std::free(base);
}

void* sb_realloc(void* udata, void* ptr, duk_size_t size) {
  if (ptr == nullptr) return sb_alloc(udata, size);
  if (size == 0) {  // Duktape accepts NULL for a zero-size realloc
    sb_free(udata, ptr);
    return nullptr;
  }
  auto* st = static_cast<HeapState*>(udata);
  unsigned char* base = static_cast<unsigned char*>(ptr) - kHeader;
  duk_size_t old = 0;
  std::memcpy(&old, base, sizeof old);
  if (size > old && (past_deadline(st) || (st->armed && st->refused))) return nullptr;
  if (size > old && size - old > st->cap - st->used) {
    st->refused = true;
    return nullptr;
  }
  auto* grown = static_cast<unsigned char*>(std::realloc(base, size + kHeader));
  if (grown == nullptr) return nullptr;
  std::memcpy(grown, &size, sizeof size);
  st->used = st->used - old + size;
  return grown + kHeader;
}

// Reached only if Duktape throws outside a protected call, i.e. a bug here or in Duktape.
// It must not return; unwinding is impossible from C, so report and stop.
void sb_fatal(void* /*udata*/, const char* msg) {
  std::fprintf(stderr, "swmld: fatal JavaScript engine error: %s\n", msg ? msg : "(none)");
  std::abort();
}


constexpr const char* kBaseGlobalKey = "swmld_base_global";
constexpr int kMaxValueDepth = 200;  // nesting of a variable copied into the heap

// Pushes `v` as a JavaScript value. Runs inside a safe call (may throw via longjmp): no
// object with a destructor may be alive here, which holds for nlohmann's iterators and refs.
void push_value(duk_context* ctx, const Value& v, int depth) {
  if (depth > kMaxValueDepth) {
    (void)duk_error(ctx, DUK_ERR_RANGE_ERROR, "variable nested too deeply");
  }
  duk_require_stack(ctx, 4);
  switch (v.type()) {
    case Value::value_t::boolean:
      duk_push_boolean(ctx, v.get<bool>() ? 1 : 0);
      return;
    case Value::value_t::number_integer:
      duk_push_number(ctx, static_cast<double>(v.get<std::int64_t>()));
      return;
    case Value::value_t::number_unsigned:
      duk_push_number(ctx, static_cast<double>(v.get<std::uint64_t>()));
      return;
    case Value::value_t::number_float:
      duk_push_number(ctx, v.get<double>());
      return;
    case Value::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      duk_push_lstring(ctx, s.data(), s.size());
      return;
    }
    case Value::value_t::array: {
      duk_push_array(ctx);
      for (std::size_t i = 0; i < v.size(); ++i) {
        push_value(ctx, v[i], depth + 1);
        duk_put_prop_index(ctx, -2, static_cast<duk_uarridx_t>(i));
      }
      return;
    }
    case Value::value_t::object: {
      duk_push_object(ctx);
      for (auto it = v.begin(); it != v.end(); ++it) {
        const std::string& key = it.key();
        duk_push_lstring(ctx, key.data(), key.size());
        push_value(ctx, it.value(), depth + 1);
        // Defined, not assigned: a key like "__proto__" becomes a plain property.
        duk_def_prop(ctx, -3,
                     DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_SET_WRITABLE |
                         DUK_DEFPROP_SET_ENUMERABLE | DUK_DEFPROP_SET_CONFIGURABLE);
      }
      return;
    }
    default:
      duk_push_null(ctx);
      return;
  }
}

// Defines global `name` (on the object at `obj`) as `v`.
void define_global(duk_context* ctx, duk_idx_t obj, const char* name, std::size_t len,
                   const Value& v) {
  duk_push_lstring(ctx, name, len);
  push_value(ctx, v, 0);
  duk_def_prop(ctx, obj,
               DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_SET_WRITABLE | DUK_DEFPROP_SET_ENUMERABLE |
                   DUK_DEFPROP_SET_CONFIGURABLE);
}

const Value* scope_member(const Value* scope, std::string_view name) {
  if (!scope->is_object()) return nullptr;
  auto it = scope->find(name);
  return it == scope->end() ? nullptr : &*it;
}

// What the result turned out to be (Want::value/truth); strings and JSON stay on the stack.
enum class Kind { null, boolean, number, string, json };

struct EvalCall {
  const Prepared* prepared;
  const std::string* source;
  const Scope* scope;
  Want want;
  Kind kind = Kind::null;
  bool truth = false;
  double number = 0;
};

bool is_scope_name(std::string_view n) {
  return n == "call" || n == "vars" || n == "params" || n == "envs";
}

// Builds the evaluation's global object: a fresh object whose prototype is the frozen base
// global, holding the variables. Unprefixed names resolve vars -> envs -> call; the four
// scope objects win over same-named variables.
void push_globals(duk_context* ctx, const EvalCall& ec) {
  const Scope& sc = *ec.scope;
  duk_push_object(ctx);
  const duk_idx_t g = duk_get_top_index(ctx);
  duk_push_heap_stash(ctx);
  duk_get_prop_string(ctx, -1, kBaseGlobalKey);
  duk_set_prototype(ctx, g);
  duk_pop(ctx);
  const Value* scopes[] = {sc.vars, sc.envs, sc.call};
  if (ec.prepared->dynamic_scope) {
    // The names used cannot be known: copy every variable, lowest precedence first.
    for (int s = 2; s >= 0; --s) {
      if (!scopes[s]->is_object()) continue;
      for (auto it = scopes[s]->begin(); it != scopes[s]->end(); ++it) {
        const std::string& key = it.key();
        define_global(ctx, g, key.data(), key.size(), it.value());
      }
    }
  } else {
    for (const std::string& name : ec.prepared->names) {
      if (is_scope_name(name)) continue;
      for (const Value* s : scopes) {
        const Value* v = scope_member(s, name);
        if (v != nullptr) {
          define_global(ctx, g, name.data(), name.size(), *v);
          break;
        }
      }
    }
  }
  const std::pair<const char*, const Value*> named[] = {
      {"call", sc.call}, {"vars", sc.vars}, {"params", sc.params}, {"envs", sc.envs}};
  for (const auto& [name, value] : named) {
    bool used = ec.prepared->dynamic_scope;
    for (const std::string& n : ec.prepared->names) used = used || n == name;
    if (used) define_global(ctx, g, name, std::strlen(name), *value);
  }
}

duk_ret_t eval_in_heap(duk_context* ctx, void* udata) {
  auto& ec = *static_cast<EvalCall*>(udata);
  push_globals(ctx, ec);
  duk_set_global_object(ctx);
  duk_push_lstring(ctx, ec.source->data(), ec.source->size());
  duk_push_string(ctx, "expression");
  duk_compile(ctx, DUK_COMPILE_FUNCTION);
  duk_call(ctx, 0);
  switch (ec.want) {
    case Want::truth:
      ec.truth = duk_to_boolean(ctx, -1) != 0;
      return 0;
    case Want::text:
      // String(value), as JavaScript concatenation would write it (arrays joined with
      // commas, objects "[object Object]"); null/undefined as SWML's missing paths: "".
      if (duk_is_null_or_undefined(ctx, -1) || duk_is_function(ctx, -1)) {
        duk_push_string(ctx, "");
      } else {
        duk_to_string(ctx, -1);
      }
      return 1;
    case Want::value:
      if (duk_is_boolean(ctx, -1)) {
        ec.kind = Kind::boolean;
        ec.truth = duk_get_boolean(ctx, -1) != 0;
      } else if (duk_is_number(ctx, -1)) {
        ec.kind = Kind::number;
        ec.number = duk_get_number(ctx, -1);
      } else if (duk_is_string(ctx, -1)) {
        ec.kind = Kind::string;
        return 1;
      } else if (duk_is_object(ctx, -1) && !duk_is_function(ctx, -1)) {
        duk_json_encode(ctx, -1);
        if (duk_is_string(ctx, -1)) {
          ec.kind = Kind::json;
          return 1;
        }
      }
      return 0;
  }
  return 0;
}

duk_ret_t restore_base_global(duk_context* ctx, void* /*udata*/) {
  duk_push_heap_stash(ctx);
  duk_get_prop_string(ctx, -1, kBaseGlobalKey);
  duk_set_global_object(ctx);
  duk_pop(ctx);
  return 0;
}

duk_ret_t init_heap(duk_context* ctx, void* udata) {
  const auto* st = static_cast<const HeapState*>(udata);
  duk_eval_string(ctx, prelude_source());
  duk_push_global_object(ctx);
  duk_push_number(ctx, static_cast<double>(st->cap / 8));
  duk_call(ctx, 2);
  duk_pop(ctx);
  duk_push_heap_stash(ctx);
  duk_push_global_object(ctx);
  duk_put_prop_string(ctx, -2, kBaseGlobalKey);
  duk_pop(ctx);
  return 0;
}

duk_ret_t collect_garbage(duk_context* ctx, void* /*udata*/) {
  duk_gc(ctx, 0);
  duk_gc(ctx, 0);  // the second pass frees what finalization released in the first
  return 0;
}

Value number_value(double d) {
  // Integral results keep an integer type so they print as "2", not "2.0".
  if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9007199254740992.0) {
    return Value(static_cast<std::int64_t>(d));
  }
  return Value(d);
}

std::string size_text(std::size_t bytes) {
  constexpr std::size_t kMiB = 1024 * 1024;
  if (bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  if (bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

}  // namespace swmld::swml::js

// The execution-timeout hook compiled into Duktape (cmake/SwmldDeps.cmake). Duktape calls it
// from its bytecode executor every 256K instructions (DUK_HTHREAD_INTCTR_DEFAULT), about a
// millisecond of work, so reading the clock on every call costs nothing measurable. Once it
// says "timed out" it must keep saying so until the error has left Duktape: Duktape rethrows
// at every catch point. Native built-ins (a regex backtracking, a huge sort) are not
// interrupted: the memory cap bounds most of them; see Sandbox.
extern "C" int swmld_duk_exec_timeout_check(void* udata) {
  auto* st = static_cast<swmld::swml::js::HeapState*>(udata);
  if (st == nullptr || !st->armed) return 0;
  if (st->timed_out) return 1;
  if (swmld::swml::js::Clock::now() >= st->deadline) {
    st->timed_out = true;
    return 1;
  }
  return 0;
}

namespace swmld::swml::js {

struct Sandbox::Heap {
  HeapState state;
  duk_context* ctx = nullptr;

  ~Heap() {
    if (ctx != nullptr) duk_destroy_heap(ctx);
  }

  Clock::time_point arm(Clock::duration budget) {
    state.armed = true;
    state.timed_out = false;
    state.alloc_timed_out = false;
    state.refused = false;
    const Clock::time_point now = Clock::now();
    state.deadline = now + budget;
    state.alloc_deadline = state.deadline + budget / 2;
    return now;
  }
  void disarm() { state.armed = false; }
};

Sandbox::Sandbox(const SandboxLimits& limits) : limits_(limits) {}

Sandbox::~Sandbox() = default;

std::size_t Sandbox::heap_bytes() const { return heap_ ? heap_->state.used : 0; }

namespace {
std::string time_text(std::chrono::microseconds t) {
  if (t.count() % 1000 == 0) return std::to_string(t.count() / 1000) + " ms";
  return std::to_string(t.count() / 1000) + "." + std::to_string(t.count() % 1000 / 100) + " ms";
}
}  // namespace

Result<Outcome> Sandbox::evaluate(const Prepared& prepared, const Scope& scope, Want want,
                                  std::chrono::microseconds time) {
  if (!heap_) {
    auto heap = std::make_unique<Heap>();
    heap->state.cap = limits_.heap_bytes;
    heap->ctx = duk_create_heap(sb_alloc, sb_realloc, sb_free, &heap->state, sb_fatal);
    if (heap->ctx == nullptr) {
      return make_error(ErrorCode::js_eval_error,
                        "cannot create the JavaScript heap (limit " +
                            size_text(limits_.heap_bytes) + ")");
    }
    // Setup runs fixed code; the budget only guards against a broken build.
    heap->arm(std::chrono::seconds(5));
    const duk_int_t rc = duk_safe_call(heap->ctx, init_heap, &heap->state, 0, 1);
    heap->disarm();
    if (rc != DUK_EXEC_SUCCESS) {
      std::string msg = "cannot set up the JavaScript heap: ";
      msg += duk_safe_to_string(heap->ctx, -1);
      return make_error(ErrorCode::js_eval_error, msg);
    }
    duk_pop(heap->ctx);
    heap_ = std::move(heap);
  }
  duk_context* ctx = heap_->ctx;

  // "function(){return (" starts on line 1, so Duktape's line numbers are the expression's.
  std::string source = "function(){return (";
  source += prepared.body;
  source += "\n);}";

  EvalCall ec{&prepared, &source, &scope, want};
  const Clock::time_point started = heap_->arm(time);
  const duk_int_t rc = duk_safe_call(ctx, eval_in_heap, &ec, 0, 1);
  Result<Outcome> result = Outcome{};
  if (rc != DUK_EXEC_SUCCESS) {
    std::string msg;
    if (heap_->state.timed_out) {
      msg = "expression timed out after " + time_text(time);
    } else if (heap_->state.refused) {  // "Error: alloc failed" or a DoubleError
      msg = "expression ran out of memory (" + size_text(limits_.heap_bytes) + ")";
    } else {
      // Still armed: a thrown object's toString() is user code too.
      msg = repair_utf8(duk_safe_to_string(ctx, -1));
      if (msg.size() > 300) msg = msg.substr(0, 300) + "...";
    }
    result = make_error(ErrorCode::js_eval_error, std::move(msg));
  } else if (want == Want::truth) {
    result->truth = ec.truth;
  } else if (want == Want::text || ec.kind == Kind::string || ec.kind == Kind::json) {
    duk_size_t len = 0;
    const char* s = duk_get_lstring(ctx, -1, &len);
    if (len > limits_.max_result_bytes) {
      result = make_error(ErrorCode::js_eval_error,
                          "expression result too large (" + std::to_string(len) + " bytes, limit " +
                              std::to_string(limits_.max_result_bytes) + ")");
    } else {
      std::string text = repair_utf8(std::string_view(s == nullptr ? "" : s, len));
      if (want == Want::text) {
        result->text = std::move(text);
      } else if (ec.kind == Kind::string) {
        result->value = std::move(text);
      } else {
        result->value = Value::parse(text, nullptr, false);
        if (result->value.is_discarded()) {
          result = make_error(ErrorCode::js_eval_error, "expression result is not valid JSON");
        }
      }
    }
  } else if (ec.kind == Kind::boolean) {
    result->value = ec.truth;
  } else if (ec.kind == Kind::number) {
    result->value = number_value(ec.number);
  }
  heap_->disarm();
  last_elapsed_ = Clock::now() - started;
  last_timed_out_ = heap_->state.timed_out;
  duk_pop(ctx);

  const bool refused = heap_->state.refused;
  if (duk_safe_call(ctx, restore_base_global, nullptr, 0, 1) != DUK_EXEC_SUCCESS || refused) {
    // Memory pressure (or a failure to restore): reclaim cycles now rather than at the next
    // voluntary collection, so the next evaluation starts with the whole budget.
    duk_pop(ctx);
    (void)duk_safe_call(ctx, collect_garbage, nullptr, 0, 1);
  }
  duk_pop(ctx);
  return result;
}

}  // namespace swmld::swml::js
