// What `request` keeps of an HTTP response, as variables (swml-reference §9.13). Pure: no
// call, no I/O, so the unit tests and the fuzzer (tests/fuzz/fuzz_http_response.cpp) reach it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "swmld/core/value.hpp"
#include "swmld/engine/ports.hpp"

namespace swmld::engine::methods {

struct ResponseLimits {
  std::size_t max_body = 64 * 1024;  // bytes of the body kept (EngineConfig::request_max_body)
  std::size_t max_headers = 64;      // headers kept (EngineConfig::request_max_headers)
};

// A JSON response nested deeper than this is not turned into variables.
constexpr int kMaxResponseNesting = 64;

// A header name as stored in request_response_headers: trimmed, lower case.
std::string header_key(std::string name);

// Deepest nesting of arrays/objects in a JSON text (outside strings).
int json_nesting(std::string_view text);

// Sets request_result, return_value, request_response_code, request_response_headers,
// request_response_body and, when `save` and the body is JSON, request_response in `vars`
// (an object). Returns a warning for the log, empty when there is none.
std::string store_response(Value& vars, HttpResponse resp, const ResponseLimits& limits, bool save);

}  // namespace swmld::engine::methods
