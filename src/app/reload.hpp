// What a configuration reload (SIGHUP) may change: the keys a running server takes from a
// new file, and those that only a restart applies (listen addresses, RTP ports, threads...).
// Pure: no I/O, no logging; the server logs the plan and applies it.
#pragma once

#include <string>
#include <vector>

#include "config.hpp"

namespace swmld::app {

struct ReloadPlan {
  // The configuration to run from now on: the new file's reloadable keys, the running
  // values of every key that needs a restart.
  Config config;
  // Reloadable keys whose value differs ("routes", "limits.max_calls", "logging.level", ...).
  std::vector<std::string> changed;
  // Keys that differ but need a restart ("sip.listen", "rtp.port_min", ...): kept as running.
  std::vector<std::string> needs_restart;
};

// `running` is the configuration in force, `loaded` the new one (already validated).
ReloadPlan plan_reload(const Config& running, const Config& loaded);

// The keys a reload applies, for documentation and messages: routes, limits.*, logging.level,
// envs, refer.*, sip.ring, http.fetch_failure_code, shutdown.drain_timeout.
const std::vector<std::string>& reloadable_keys();

// The keys only a restart applies (sip.listen, rtp.*, http.timeout, ...): with
// reloadable_keys(), every key of config_keys() but the routes[] ones, which "routes" covers.
const std::vector<std::string>& restart_only_keys();

}  // namespace swmld::app
