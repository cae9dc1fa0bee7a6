// `swmld check FILE...`: validates documents, printing every error as
// `file:line:col: relay_script_code: message` on stderr. `swmld check --config FILE`
// validates a configuration file the way `serve` reads it, and the documents it names.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace swmld::app {

// Returns 0 when every file is valid, 1 otherwise.
int check(const std::vector<std::string>& files, std::ostream& out, std::ostream& err,
          bool quiet);

// Returns 0 when the configuration loads (with SWMLD_* variables applied, as `serve` does),
// validates and every file route's document is valid; otherwise 1, with each error on
// `err` (a configuration error names its key: "swmld.yaml:7:16: ...: config key
// 'limits.max_calls': must be at least 1").
int check_config(const std::string& file, std::ostream& out, std::ostream& err, bool quiet);

}  // namespace swmld::app
