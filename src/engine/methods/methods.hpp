// The SWML methods the engine executes: one function per method, one file each, all
// registered in the table of registry.cpp.
#pragma once

#include <string_view>

#include "../call.hpp"  // first: it includes <utility> before Boost.Asio
#include <boost/asio/awaitable.hpp>

#include "../flow.hpp"
#include "swmld/swml/document.hpp"

namespace swmld::engine::methods {

using MethodFn = asio::awaitable<Flow> (*)(Call&, const swml::Step&);

// The function that runs `method`, or null when the engine cannot execute it (yet).
MethodFn find(std::string_view method);

asio::awaitable<Flow> answer(Call&, const swml::Step&);
asio::awaitable<Flow> hangup(Call&, const swml::Step&);
asio::awaitable<Flow> set(Call&, const swml::Step&);
asio::awaitable<Flow> unset(Call&, const swml::Step&);
asio::awaitable<Flow> label(Call&, const swml::Step&);
asio::awaitable<Flow> goto_(Call&, const swml::Step&);
asio::awaitable<Flow> cond(Call&, const swml::Step&);
asio::awaitable<Flow> switch_(Call&, const swml::Step&);
asio::awaitable<Flow> execute(Call&, const swml::Step&);
asio::awaitable<Flow> return_(Call&, const swml::Step&);
asio::awaitable<Flow> transfer(Call&, const swml::Step&);
asio::awaitable<Flow> sleep(Call&, const swml::Step&);
asio::awaitable<Flow> play(Call&, const swml::Step&);
asio::awaitable<Flow> prompt(Call&, const swml::Step&);
asio::awaitable<Flow> sip_refer(Call&, const swml::Step&);
asio::awaitable<Flow> request(Call&, const swml::Step&);
asio::awaitable<Flow> send_digits(Call&, const swml::Step&);
asio::awaitable<Flow> record(Call&, const swml::Step&);
asio::awaitable<Flow> record_call(Call&, const swml::Step&);
asio::awaitable<Flow> stop_record_call(Call&, const swml::Step&);
asio::awaitable<Flow> connect(Call&, const swml::Step&);

// Runs a step's `result` (execute.result, connect.result): the first cond branch that holds,
// or the switch-like case of its variable; none: the next step (a warning for a switch).
asio::awaitable<Flow> run_result(Call& c, const swml::Selector& sel, const char* method);

}  // namespace swmld::engine::methods
