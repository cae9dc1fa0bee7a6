// `swmld check FILE...`: validates documents, printing every error as
// `file:line:col: relay_script_code: message` on stderr.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace swmld::app {

// Returns 0 when every file is valid, 1 otherwise.
int check(const std::vector<std::string>& files, std::ostream& out, std::ostream& err,
          bool quiet);

}  // namespace swmld::app
