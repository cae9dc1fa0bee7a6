// The variables `request` stores from an HTTP response.
#include "response_vars.hpp"

#include <algorithm>
#include <cctype>

namespace swmld::engine::methods {

std::string header_key(std::string s) {
  auto b = s.find_first_not_of(" \t");
  auto e = s.find_last_not_of(" \t");
  s = b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

// Deep values would make every later copy of the variables recurse that deep.
int json_nesting(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char ch : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (ch == '\\') {
        escaped = true;
      } else if (ch == '"') {
        in_string = false;
      }
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '[' || ch == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (ch == ']' || ch == '}') {
      --depth;
    }
  }
  return deepest;
}

std::string store_response(Value& vars, HttpResponse resp, const ResponseLimits& limits, bool save) {
  std::string warning;
  // A transfer cut off (a body over the client's limit, a timeout after the status line) is
  // a failure even when its status line said 2xx.
  bool ok = resp.error.empty() && resp.status >= 200 && resp.status < 300;
  vars["request_result"] = ok ? "success" : "failed";
  vars["return_value"] = vars["request_result"];
  if (resp.status > 0) vars["request_response_code"] = resp.status;
  Value headers = Value::object();
  for (const auto& [name, value] : resp.headers) {
    if (headers.size() >= limits.max_headers) break;
    headers[header_key(name)] = value;
  }
  if (resp.status > 0) vars["request_response_headers"] = std::move(headers);
  if (resp.body.size() > limits.max_body) resp.body.resize(limits.max_body);
  if (resp.status > 0) vars["request_response_body"] = resp.body;
  if (save && !resp.body.empty()) {
    if (json_nesting(resp.body) > kMaxResponseNesting) {
      warning = "response nested deeper than " + std::to_string(kMaxResponseNesting) +
                " levels: not saved";
    } else {
      Value parsed = Value::parse(resp.body, nullptr, false);
      if (!parsed.is_discarded()) vars["request_response"] = std::move(parsed);
    }
  }
  return warning;
}

}  // namespace swmld::engine::methods
