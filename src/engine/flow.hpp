// How a step or a block hands control back to the interpreter.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "swmld/core/error.hpp"
#include "swmld/core/value.hpp"

namespace swmld::engine {

struct Flow {
  enum class Kind {
    next,      // go on with the following step
    jump,      // `goto`: find `label` in this block or an enclosing one of the same section
    ret,       // `return`: leave the current section (frame); `value` may be set
    transfer,  // `transfer`: replace the current frame with `dest` (+ `value` as params)
    end,       // the call is over (hangup step, far end hung up, `return` in main)
    error,     // a runtime error ends the call
  };
  Kind kind = Kind::next;
  std::string label;            // jump
  std::string dest;             // transfer
  std::optional<Value> value;   // ret: the return value (none: keep return_value); transfer: params
  std::optional<Error> error;   // error

  static Flow next() { return {}; }
  static Flow end() { return {Kind::end, {}, {}, {}, {}}; }
  static Flow jump(std::string label) { return {Kind::jump, std::move(label), {}, {}, {}}; }
  static Flow ret(std::optional<Value> v) { return {Kind::ret, {}, {}, std::move(v), {}}; }
  static Flow transfer(std::string dest, Value params) {
    return {Kind::transfer, {}, std::move(dest), std::move(params), {}};
  }
  static Flow fail(Error e) { return {Kind::error, {}, {}, {}, std::move(e)}; }
  static Flow fail(ErrorCode code, std::string message) {
    return fail(Error{code, std::move(message), {}});
  }
};

}  // namespace swmld::engine
