// Checks of single property values against the method table (type, enum, range, sound
// strings, variable paths, digits) and the small text rules they rest on.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "diagnostics.hpp"
#include "swmld/swml/method_table.hpp"
#include "yaml_tree.hpp"

namespace swmld::swml::detail {

// True when `s` contains a `${` or `%{` placeholder: such a value is only known at run time,
// so it is accepted wherever a typed value is expected (the schema's SWMLVar).
bool mentions_expression(std::string_view s);

// A playable sound per swml-reference.md §8: http(s)://, say:, silence:<s>, ring:[<s>:]<cc>.
bool is_playable_sound(std::string_view s);

// A bare variable path such as `prompt_value`, `call.type`, `items[0].name`, `h.content-type`.
bool is_variable_path(std::string_view s);

// A destination that is not a section name: http(s) URL, inline JSON document, relay:, or
// an expression.
bool is_external_dest(std::string_view s);

// The candidate closest to `word` by edit distance (at most 2), or empty.
std::string closest(std::string_view word, std::span<const std::string_view> candidates);

// `'text'`, shortened when long, for messages.
std::string quote_text(std::string_view text);

// Checks one property value: JSON type, enum, numeric range and the simple Check kinds.
// Structural checks (steps, cases, result, confirm, destinations) belong to the step parser,
// which calls this first for the type. `where` prefixes messages ("play", "connect.serial[0]").
// Returns false when the value's type is wrong (so callers skip deeper checks).
bool check_value(const PropSpec& spec, const Node& value, std::string_view where,
                 Diagnostics& diag);

// True when the node has one of the JSON types in `types` (an expression string fits any).
bool type_fits(std::uint8_t types, const Node& value);

// "a string or a list", for messages.
std::string type_names(std::uint8_t types);

}  // namespace swmld::swml::detail
