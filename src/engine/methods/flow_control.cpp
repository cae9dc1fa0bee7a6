// Flow-control methods: label, goto, cond, switch, return, transfer.
#include "args.hpp"
#include "methods.hpp"

namespace swmld::engine::methods {
namespace {

asio::awaitable<Flow> run_body(Call& c, const swml::Selector& sel, const swml::Branch& br) {
  if (!br.body) co_return Flow::next();
  co_return co_await c.run_branch(*br.body, &sel, &br);
}

// A `when` that cannot be evaluated (a syntax error such as the documented
// `${prompt_value} == 1` when nothing was pressed, which reads ` == 1`; a ReferenceError)
// is a warning and counts as false: the document goes on as if the condition did not hold
// (docs/swml-coverage.md, "Runtime errors").
// Only the call's expression time budget used up is an error (the step fails).
asio::awaitable<Result<bool>> holds(Call& c, const std::string& when, SourcePos pos) {
  auto cond = co_await c.condition(when);
  if (cond || c.expressions().budget_exhausted()) co_return cond;
  Error e = cond.error();
  e.pos = pos;
  e.message += "; taken as false";
  c.warn(std::move(e));
  co_return false;
}

// Runs the first branch of a selector that applies. When none applies and there is no
// default the document goes on with the next step: for `switch` that is a warning
// (relay_script_method_no_matching_condition), as SignalWire's transfer example expects.
asio::awaitable<Flow> run_selector(Call& c, const swml::Selector& sel, const char* method) {
  if (sel.kind == swml::Selector::Kind::cond) {
    for (const auto& br : sel.branches) {
      if (!br.is_default) {
        auto taken = co_await holds(c, br.match, br.pos);
        if (!taken) co_return Flow::fail(taken.error());
        if (!*taken) continue;
      }
      co_return co_await run_body(c, sel, br);
    }
    co_return Flow::next();
  }
  std::string value = to_text(c.expressions().lookup(sel.variable, c.scope()));
  const swml::Branch* fallback = nullptr;
  for (const auto& br : sel.branches) {
    if (br.is_default) {
      fallback = &br;
    } else if (br.match == value) {
      co_return co_await run_body(c, sel, br);
    }
  }
  if (fallback) co_return co_await run_body(c, sel, *fallback);
  c.warn(Error{ErrorCode::method_no_matching_condition,
               std::string(method) + ": no case matches " + sel.variable + " = '" + value +
                   "' and there is no default; going on with the next step",
               {}});
  co_return Flow::next();
}

}  // namespace

asio::awaitable<Flow> run_result(Call& c, const swml::Selector& sel, const char* method) {
  co_return co_await run_selector(c, sel, method);
}

asio::awaitable<Flow> label(Call&, const swml::Step&) { co_return Flow::next(); }

asio::awaitable<Flow> goto_(Call& c, const swml::Step& step) {
  auto args = co_await c.expand(step.args);
  if (!args) co_return Flow::fail(args.error());
  std::string target = get_string(*args, "label");
  // `when` is a bare JS condition: read it from the unexpanded arguments.
  if (step.args.contains("when") && !step.args["when"].is_null()) {
    // Named first: GCC 12 destroys temporaries inside a co_await expression twice.
    const std::string when = to_text(step.args["when"]);
    const SourcePos nowhere;
    auto taken = co_await holds(c, when, nowhere);
    if (!taken) co_return Flow::fail(taken.error());
    if (!*taken) co_return Flow::next();
  }
  auto max = get_number(*args, "max", 100, "goto");
  if (!max) co_return Flow::fail(max.error());
  if (*max < 1 || *max > 100)
    co_return Flow::fail(ErrorCode::method_parameter_invalid_value,
                         "goto: max must be between 1 and 100");
  int& count = c.goto_count(&step);
  if (count >= static_cast<int>(*max)) co_return Flow::next();  // exhausted: fall through
  ++count;
  if (!c.count_jump())
    co_return Flow::fail(ErrorCode::too_many_transfers,
                         "more than " + std::to_string(c.config().max_jump_chain) +
                             " transfers/gotos in a row");
  co_return Flow::jump(std::move(target));
}

asio::awaitable<Flow> cond(Call& c, const swml::Step& step) {
  if (!step.selector) co_return Flow::next();
  co_return co_await run_selector(c, *step.selector, "cond");
}

asio::awaitable<Flow> switch_(Call& c, const swml::Step& step) {
  if (!step.selector) co_return Flow::next();
  co_return co_await run_selector(c, *step.selector, "switch");
}

asio::awaitable<Flow> execute(Call& c, const swml::Step& step) {
  auto args = co_await c.expand(step.args);
  if (!args) co_return Flow::fail(args.error());
  std::string dest = get_string(*args, "dest");
  Value params = args->value("params", Value::object());
  if (!params.is_object())
    co_return Flow::fail(ErrorCode::method_parameter_invalid_value,
                         "execute: params must be an object");
  params = params_as_strings(std::move(params));
  Flow flow = co_await c.call_destination(dest, std::move(params));
  if (flow.kind != Flow::Kind::next) co_return flow;
  // on_return runs first, then result (the order is not documented by SignalWire).
  if (step.on_return) {
    flow = co_await c.run_branch(*step.on_return, nullptr, nullptr);
    if (flow.kind != Flow::Kind::next) co_return flow;
  }
  if (step.selector) co_return co_await run_selector(c, *step.selector, "execute.result");
  co_return Flow::next();
}

asio::awaitable<Flow> return_(Call& c, const swml::Step& step) {
  // `return`, `return: null` and `return: {}` leave return_value as it is.
  if (step.args.is_null() || (step.args.is_object() && step.args.empty()))
    co_return Flow::ret(std::nullopt);
  auto value = co_await c.expand(step.args);
  if (!value) co_return Flow::fail(value.error());
  co_return Flow::ret(std::move(*value));
}

asio::awaitable<Flow> transfer(Call& c, const swml::Step& step) {
  auto args = co_await c.expand(step.args);
  if (!args) co_return Flow::fail(args.error());
  Value params = args->value("params", Value::object());
  if (!params.is_object())
    co_return Flow::fail(ErrorCode::method_parameter_invalid_value,
                         "transfer: params must be an object");
  params = params_as_strings(std::move(params));
  co_return Flow::transfer(get_string(*args, "dest"), std::move(params));
}

}  // namespace swmld::engine::methods
