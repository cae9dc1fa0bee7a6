// Text forms of values as JavaScript would write them (numbers, JSON), and UTF-8 repair for
// strings coming out of Duktape (which may hold lone surrogates as CESU-8).
#pragma once

#include <string>
#include <string_view>

#include "swmld/core/value.hpp"

namespace swmld::swml {

// ECMAScript Number::toString: 2 -> "2", 0.1 -> "0.1", 1e21 -> "1e+21", 1e-7 -> "1e-7".
std::string js_number_text(double d);

// The text a placeholder embedded in a string becomes, as JavaScript's String() writes it
// (SWML expressions are JavaScript): strings as-is, booleans/numbers as JavaScript writes
// them, arrays joined with commas (["drill bit", "drill"] -> "drill bit,drill"), objects
// "[object Object]"; null (and missing) "" as SWML's missing paths.
std::string embed_text(const Value& v);

// Compact JSON with JavaScript number formatting (2.0 -> "2"; NaN/Infinity -> null).
void append_json(std::string& out, const Value& v);

// `s` as valid UTF-8: CESU-8 surrogate pairs are joined, anything else invalid becomes U+FFFD.
std::string repair_utf8(std::string_view s);

}  // namespace swmld::swml
