// libFuzzer target: an HTTP response to `request` (status, headers, body) turned into
// variables by store_response, with save_variables on, as the engine does, then used the
// way later steps use variables: copied, printed into a document fetch's POST body.
// Input: the first two bytes are the status (0..999), then "name: value" header lines up
// to an empty line, then the body. Small limits so that truncation is exercised.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "methods/response_vars.hpp"

using swmld::Value;
using namespace swmld::engine;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  HttpResponse resp;
  resp.status = (data[0] << 8 | data[1]) % 1000;
  std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty() || line == "\r") break;
    auto colon = line.find(':');
    resp.headers.emplace_back(line.substr(0, colon),
                              colon == std::string_view::npos ? "" : line.substr(colon + 1));
  }
  resp.body = std::string(rest);
  methods::ResponseLimits limits{512, 8};
  Value vars = Value::object();
  vars["keep"] = "me";
  (void)methods::store_response(vars, resp, limits, true);

  if (vars["keep"] != "me") __builtin_trap();
  const Value& result = vars["request_result"];
  if (result != "success" && result != "failed") __builtin_trap();
  if (resp.status > 0) {
    if (vars["request_response_headers"].size() > limits.max_headers) __builtin_trap();
    const Value& body = vars["request_response_body"];
    if (!body.is_string() || body.get_ref<const std::string&>().size() > limits.max_body)
      __builtin_trap();
  }
  // Variables travel as JSON (document fetch POST bodies, status callbacks, simulate).
  Value copy = vars;
  std::string text = copy.dump(-1, ' ', false, Value::error_handler_t::replace);
  Value back = Value::parse(text, nullptr, false);
  if (back.is_discarded()) __builtin_trap();
  return 0;
}
