// Turns one SWML expression (written for V8) into ES5 source that Duktape 2.7 compiles:
// arrow functions and template literals are rewritten; the names it mentions are collected.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace swmld::swml::js {

struct Prepared {
  std::string body;                // an ES5 expression; source lines are kept where they were
  std::vector<std::string> names;  // identifiers used as names (not after `.`), no duplicates
  bool dynamic_scope = false;      // mentions this/eval/arguments/Function: names are unknowable
  std::string error;               // non-empty: "SyntaxError: ..." and the rest is unusable
};

// Rewrites (all other text is kept token by token, comments dropped):
//   x => e, (a, b) => e   ->  function(a, b){return (e\n);}   e ends before `,` `)` `]` `}` `;`
//                            at its own nesting level, or at the end
//   (a) => { ... }        ->  function(a){ ... }
//   `a${x}b`              ->  ("" + "a" + (x) + "b")    (tagged templates are not supported)
// Closing brackets that match nothing are an error, so an expression cannot close the
// `return (...)` wrapper it is compiled in and run statements after it.
Prepared prepare(std::string_view expr);

}  // namespace swmld::swml::js
