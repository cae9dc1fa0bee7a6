// The setup script of an expression heap (see js_prelude.cpp for what it does and why).
#pragma once

namespace swmld::swml::js {

// Source of a function expression `(function (global, maxArrayLength) {...})`; the sandbox
// calls it once per heap, before storing the frozen global as the base of every evaluation.
const char* prelude_source();

}  // namespace swmld::swml::js
