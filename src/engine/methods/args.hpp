// Typed reads of a step's expanded arguments. Numbers and booleans may arrive as strings
// from `${...}` expressions (the schema's SWMLVar), so both forms are accepted here.
#pragma once

#include <optional>
#include <string>

#include "swmld/core/error.hpp"
#include "swmld/core/value.hpp"

namespace swmld::engine::methods {

// The string form of a value as SWML compares and speaks it: strings as they are, numbers
// without a trailing ".0", booleans "true"/"false", null "", objects/arrays as JSON.
std::string to_text(const Value& v);

// args[key] as a string; `fallback` when absent or null.
std::string get_string(const Value& args, const char* key, std::string fallback = {});

// args[key] as a number; `fallback` when absent or null; an error when not numeric.
Result<double> get_number(const Value& args, const char* key, double fallback,
                          const char* method);

// args[key] as a boolean ("true"/"false" strings accepted); `fallback` when absent.
Result<bool> get_bool(const Value& args, const char* key, bool fallback, const char* method);

// args[key] as a list of strings: a string makes a list of one.
std::vector<std::string> get_strings(const Value& args, const char* key);

// `params` as a callee and a fetched document's POST body see them: numbers and booleans
// become strings (at any depth), as SignalWire documents (`params: {a: 1, b: 2}` then
// `${params.a+params.b}` is "12"; the execute payload shows "some_info": "12345").
// Strings, null, objects and arrays keep their type.
Value params_as_strings(Value params);

}  // namespace swmld::engine::methods
