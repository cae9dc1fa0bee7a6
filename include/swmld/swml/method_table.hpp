// The table of SWML calling methods the loader knows (swml-reference.md §9 and the official
// schema): each method's argument shape and its properties with types, enums and ranges.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

namespace swmld::swml {

// JSON types a property accepts, as a bit set.
enum TypeBits : std::uint8_t {
  t_string = 1 << 0,
  t_integer = 1 << 1,  // also an integral float such as 5.0 (as JSON Schema counts it)
  t_number = 1 << 2,   // integer or float
  t_boolean = 1 << 3,
  t_object = 1 << 4,
  t_array = 1 << 5,
  t_null = 1 << 6,
  t_any = 0x7f,
};

// Extra checks beyond type/enum/range. The loader implements each one.
enum class Check : std::uint8_t {
  none,
  sound,            // a playable sound string (reference §8)
  sounds,           // a list of playable sounds
  sound_or_sounds,  // one sound or a list (prompt.play)
  string_list,      // a list of strings
  enum_list,        // a list of strings, each one of the property's enum values
  enum_words,       // one string of space-separated enum values (join_conference events)
  name_value_list,  // a list of {name, value} string pairs (connect.headers, pay.parameters)
  object_list,      // a list of objects, not validated further (pay.prompts, ai.languages)
  var_path,         // a bare variable path such as prompt_value (switch.variable)
  digits,           // DTMF digits 0-9 * # A-D and the pauses W w (send_digits.digits)
  label_ref,        // the name of a label in the same section (goto.label)
  dest,             // a section name, an http(s) URL, inline JSON SWML or relay:
  steps,            // a nested list of steps (execute.on_return, switch.default, ...)
  cases,            // a mapping of case value -> steps (switch.case)
  result,           // a switch-like object or a cond list (execute.result, connect.result)
  confirm,          // connect.confirm: a URL or a list of steps from a restricted set
  destinations,     // connect.serial / connect.parallel: a list of destination objects
  destination_groups,  // connect.serial_parallel: a list of lists of destinations
  transcribe_action,   // live_transcribe.action / live_translate.action
  conference_stream,   // join_conference.stream: a mapping of stream settings
};

struct PropSpec {
  std::string_view name;
  std::uint8_t types = t_string;
  bool required = false;
  std::string_view enums;  // comma-separated allowed strings; empty means any
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  Check check = Check::none;
};

// How the value of a method's key is shaped in its full (canonical) form.
enum class ArgsShape : std::uint8_t {
  object,   // an object of properties (most methods)
  any,      // any value (return)
  label,    // a string (label)
  names,    // a string or a list of strings (unset)
  vars,     // an object with any keys (set)
  cond,     // a list of condition objects (cond)
  sleep,    // milliseconds, {duration}, or an expression (sleep)
  if_,      // {condition, then, else} (if; becomes a cond)
};

struct MethodSpec {
  std::string_view name;
  ArgsShape shape = ArgsShape::object;
  std::span<const PropSpec> props;
  // Short forms: a bare string value stands for this property, a bare list for that one.
  std::string_view string_prop;
  std::string_view array_prop;
  bool open = false;  // unknown properties are accepted (methods we do not model in depth)
};

// The method of this name, or null.
const MethodSpec* find_method(std::string_view name);

// Every known method, in table order.
std::span<const MethodSpec> all_methods();

// connect's per-destination properties (items of serial / parallel / serial_parallel).
std::span<const PropSpec> connect_destination_props();

// join_conference.stream's properties (the WebSocket stream attached to the conference).
std::span<const PropSpec> conference_stream_props();

// The methods a connect.confirm step list may use.
bool allowed_in_confirm(std::string_view method);

}  // namespace swmld::swml
