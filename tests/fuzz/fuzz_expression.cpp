// libFuzzer target: any input, used as a template string, must expand or fail cleanly.
// One engine (and so one Duktape heap) is reused across inputs, as a call would reuse it;
// tight limits keep slow inputs from stalling the fuzzer. The engine is static and never
// destroyed, so run with -detect_leaks=0 (its heap is freed only by the destructor).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "swmld/swml/expression.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using swmld::Value;
  static const Value call = Value::parse(R"({"from": "sip:a@b", "type": "sip", "headers": []})");
  static const Value vars = Value::parse(
      R"({"n": 3, "s": "text", "list": [1, {"k": "v"}], "obj": {"a-b": {"c": [true]}}})");
  static const Value params = Value::parse(R"({"a": "1"})");
  static const Value envs = Value::object();
  static swmld::swml::ExpressionEngine engine([] {
    swmld::swml::SandboxLimits l;
    l.time = std::chrono::milliseconds(50);
    l.heap_bytes = 4 * 1024 * 1024;
    return l;
  }());
  const swmld::swml::Scope scope{&call, &vars, &params, &envs};
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto expanded = engine.expand(Value(text), scope);
  if (expanded.ok()) (void)expanded->dump(-1, ' ', false, Value::error_handler_t::replace);
  (void)engine.condition(text, scope);
  (void)engine.lookup(text, scope);
  return 0;
}
