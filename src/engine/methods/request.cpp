// `request`: an HTTP request whose response lands in variables (swml-reference §9.13):
// request_url, request_result (success on a 2xx answer, else failed), return_value,
// request_response_code, request_response_headers.<name>, request_response_body, and
// request_response.<path> when save_variables is true and the body is JSON. At most
// config.max_requests steps per call send anything (then request_result is limit_exceeded),
// and none waits more than 5 s.
// The body is kept up to config.request_max_body bytes, headers up to request_max_headers.
#include <algorithm>
#include <cctype>

#include "args.hpp"
#include "methods.hpp"
#include "response_vars.hpp"
#include "swmld/core/url.hpp"

namespace swmld::engine::methods {
namespace {

bool has_header(const HttpRequest& r, const std::string& name) {
  return std::any_of(r.headers.begin(), r.headers.end(),
                     [&](const auto& h) { return header_key(h.first) == name; });
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
  // "0" means "none" in SWML; swmld never waits without a bound: 0 takes the configured
  // default, and no step waits longer than the reference's 5 s.
  req.timeout_s = *timeout > 0 ? std::min(*timeout, EngineConfig::kRequestTimeoutMaxS)
                               : c.config().request_timeout_s;
  req.connect_timeout_s = *connect_timeout > 0 ? *connect_timeout
                                               : c.config().request_connect_timeout_s;

  Value& vars = c.vars();
  for (const char* k : {"request_result", "request_response_code", "request_response_headers",
                        "request_response_body", "request_response"})
    vars.erase(k);
  // Credentials in the URL (user:pass@) stay out of the variables: they travel on to every
  // document fetched later (the POST body's `vars`), to logs and to `simulate` output.
  vars["request_url"] = mask_credentials(req.url);
  if (!c.count_request()) {
    // Past the limit the step sends nothing and the document goes on (a soft failure).
    c.log(spdlog::level::warn, "request {}: not sent, {} requests per call at most "
          "(limits.requests_per_call)", mask_credentials(req.url), c.config().max_requests);
    vars["request_result"] = "limit_exceeded";
    vars["return_value"] = "limit_exceeded";
    co_return Flow::next();
  }

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

  if (!resp.error.empty())
    c.log(spdlog::level::warn, "request {} {}: {}", req.method, mask_credentials(req.url), resp.error);
  ResponseLimits limits{c.config().request_max_body, c.config().request_max_headers};
  auto warning = store_response(vars, std::move(resp), limits, *save);
  if (!warning.empty())
    c.log(spdlog::level::warn, "request {}: {}", mask_credentials(req.url), warning);
  co_return Flow::next();
}

}  // namespace swmld::engine::methods
