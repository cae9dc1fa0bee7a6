// `set` and `unset`: write and remove variables in `vars`. `set` evaluates its keys in
// document order, each assigned before the next is expanded (swml-reference §3.5).
#include "args.hpp"
#include "methods.hpp"

namespace swmld::engine::methods {

asio::awaitable<Flow> set(Call& c, const swml::Step& step) {
  if (!step.args.is_object())
    co_return Flow::fail(ErrorCode::element_wrong_type, "set: expects an object of variables");
  for (auto it = step.args.begin(); it != step.args.end(); ++it) {
    auto value = co_await c.expand(it.value());
    if (!value) co_return Flow::fail(value.error());
    c.vars()[it.key()] = std::move(*value);
  }
  co_return Flow::next();
}

asio::awaitable<Flow> unset(Call& c, const swml::Step& step) {
  std::vector<std::string> names;
  if (step.args.is_string()) {
    names.push_back(step.args.get<std::string>());
  } else if (step.args.is_array()) {
    for (const auto& v : step.args) names.push_back(to_text(v));
  }
  for (const auto& name : names) c.vars().erase(name);
  co_return Flow::next();
}

}  // namespace swmld::engine::methods
