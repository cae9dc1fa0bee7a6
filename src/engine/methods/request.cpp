// `request`: an HTTP request whose response lands in variables (swml-reference §9.13):
// request_url, request_result (success on a 2xx answer, else failed), return_value,
// request_response_code, request_response_headers.<name>, request_response_body, and
// request_response.<path> when save_variables is true and the body is JSON.
// The body is kept up to config.request_max_body bytes, headers up to request_max_headers.
#include <algorithm>
#include <cctype>

#include "args.hpp"
#include "methods.hpp"
#include "swmld/core/url.hpp"

namespace swmld::engine::methods {
namespace {

std::string lower_trim(std::string s) {
  auto b = s.find_first_not_of(" \t");
  auto e = s.find_last_not_of(" \t");
  s = b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

// Deepest nesting of arrays/objects in a JSON text (outside strings). A response is only
// turned into variables when it is shallow: deep values would make every later copy of the
// variables recurse that deep.
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

constexpr int kMaxResponseNesting = 64;

bool has_header(const HttpRequest& r, const std::string& name) {
  return std::any_of(r.headers.begin(), r.headers.end(),
                     [&](const auto& h) { return lower_trim(h.first) == name; });
}

}  // namespace

asio::awaitable<Flow> request(Call& c, const swml::Step& step) {
  auto args = co_await c.expand(step.args);
  if (!args) co_return Flow::fail(args.error());
  HttpRequest req;
  req.url = get_string(*args, "url");
  req.method = get_string(*args, "method", "POST");
  std::transform(req.method.begin(), req.method.end(), req.method.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  if (req.method != "GET" && req.method != "POST" && req.method != "PUT" && req.method != "DELETE")
    co_return Flow::fail(ErrorCode::method_parameter_invalid_value,
                         "request: method must be GET, POST, PUT or DELETE, got '" + req.method + "'");
  if (!is_http_url(req.url))
    co_return Flow::fail(ErrorCode::method_parameter_invalid_value,
                         "request: url must be http:// or https://, got '" + req.url + "'");
  if (auto h = args->find("headers"); h != args->end() && h->is_object())
    for (auto it = h->begin(); it != h->end(); ++it) req.headers.emplace_back(it.key(), to_text(*it));
  if (auto b = args->find("body"); b != args->end() && !b->is_null()) {
    req.body = b->is_string() ? b->get<std::string>()
                              : b->dump(-1, ' ', false, Value::error_handler_t::replace);
    if (!has_header(req, "content-type")) {
      // Without a Content-Type the type is guessed from the first non-space character.
      auto first = req.body.find_first_not_of(" \t\r\n");
      bool json = !b->is_string() ||
                  (first != std::string::npos && (req.body[first] == '{' || req.body[first] == '['));
      req.headers.emplace_back("Content-Type", json ? "application/json" : "text/plain");
    }
  }
  auto timeout = get_number(*args, "timeout", 0, "request");
  if (!timeout) co_return Flow::fail(timeout.error());
  auto connect_timeout = get_number(*args, "connect_timeout", 0, "request");
  if (!connect_timeout) co_return Flow::fail(connect_timeout.error());
  auto save = get_bool(*args, "save_variables", false, "request");
  if (!save) co_return Flow::fail(save.error());
  // "0" means "none" in SWML; swmld never waits without a bound: 0 takes the configured default.
  req.timeout_s = *timeout > 0 ? *timeout : c.config().request_timeout_s;
  req.connect_timeout_s = *connect_timeout > 0 ? *connect_timeout
                                               : c.config().request_connect_timeout_s;

  Value& vars = c.vars();
  for (const char* k : {"request_result", "request_response_code", "request_response_headers",
                        "request_response_body", "request_response"})
    vars.erase(k);
  // Credentials in the URL (user:pass@) stay out of the variables: they travel on to every
  // document fetched later (the POST body's `vars`), to logs and to `simulate` output.
  vars["request_url"] = mask_credentials(req.url);

  HttpResponse resp;
  if (!c.ports().http) {
    resp.error = "no HTTP client";
  } else {
    auto slot = std::make_shared<std::optional<HttpResponse>>();
    auto handle = c.ports().http->send(req, c.completion(slot));
    co_await c.wait_until([&] { return slot->has_value(); }, std::nullopt);
    if (!slot->has_value()) {
      if (handle) handle->cancel();
      co_return Flow::end();  // the call hung up while waiting
    }
    resp = std::move(**slot);
  }

  // A transfer cut off (a body over the client's limit, a timeout after the status line) is
  // a failure even when its status line said 2xx.
  bool ok = resp.error.empty() && resp.status >= 200 && resp.status < 300;
  vars["request_result"] = ok ? "success" : "failed";
  vars["return_value"] = vars["request_result"];
  if (resp.status > 0) vars["request_response_code"] = resp.status;
  if (!resp.error.empty())
    c.log(spdlog::level::warn, "request {} {}: {}", req.method, mask_credentials(req.url), resp.error);
  Value headers = Value::object();
  for (const auto& [name, value] : resp.headers) {
    if (headers.size() >= c.config().request_max_headers) break;
    headers[lower_trim(name)] = value;
  }
  if (resp.status > 0) vars["request_response_headers"] = std::move(headers);
  if (resp.body.size() > c.config().request_max_body) resp.body.resize(c.config().request_max_body);
  if (resp.status > 0) vars["request_response_body"] = resp.body;
  if (*save && !resp.body.empty()) {
    if (json_nesting(resp.body) > kMaxResponseNesting) {
      c.log(spdlog::level::warn, "request {}: response nested deeper than {} levels: not saved",
            mask_credentials(req.url), kMaxResponseNesting);
    } else {
      Value parsed = Value::parse(resp.body, nullptr, false);
      if (!parsed.is_discarded()) vars["request_response"] = std::move(parsed);
    }
  }
  co_return Flow::next();
}

}  // namespace swmld::engine::methods
