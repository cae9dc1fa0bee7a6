// The one dynamic value type of swmld: SWML arguments, variables, callback bodies.
// An ordered JSON object keeps document key order, which `set` relies on (swml-reference §3.5).
#pragma once

#include <nlohmann/json.hpp>

namespace swmld {

using Value = nlohmann::ordered_json;

}  // namespace swmld
