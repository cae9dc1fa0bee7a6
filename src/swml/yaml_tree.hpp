// A positioned tree parsed from YAML or JSON text: every node and every mapping key keeps
// its 1-based line:column, which the validator needs for its error messages.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "swmld/core/error.hpp"
#include "swmld/core/value.hpp"

namespace swmld::swml::detail {

struct Node;
// Nodes are immutable once built and may be shared: a YAML alias points at its anchor's node.
using NodePtr = std::shared_ptr<const Node>;

struct MapEntry {
  std::string key;  // the key's source text (`1:` gives "1"); keys are always scalars
  int line = 0;
  int column = 0;
  NodePtr value;
};

struct Node {
  enum class Kind { null, boolean, integer, floating, string, sequence, mapping };
  Kind kind = Kind::null;
  int line = 0;
  int column = 0;
  Value scalar;                    // scalars: the resolved value (a string node holds a string)
  std::vector<NodePtr> items;      // sequence
  std::vector<MapEntry> entries;   // mapping, in document order, without duplicate keys
  std::size_t weight = 1;          // nodes in this subtree with aliases expanded

  bool is_null() const { return kind == Kind::null; }
  bool is_string() const { return kind == Kind::string; }
  bool is_sequence() const { return kind == Kind::sequence; }
  bool is_mapping() const { return kind == Kind::mapping; }
  bool is_number() const { return kind == Kind::integer || kind == Kind::floating; }
  bool is_scalar() const { return !is_sequence() && !is_mapping(); }
  // The string of a string node; empty for anything else.
  const std::string& str() const;
  // The entry with this key, or null.
  const MapEntry* find(std::string_view key) const;
};

// Limits that keep hostile input (alias bombs, deep nesting) from exhausting memory or stack.
struct TreeLimits {
  std::size_t max_nodes = 1'000'000;  // after alias expansion
  int max_depth = 128;                // nested sequences/mappings; yaml-cpp itself gives up near 250
};

// Parses exactly one YAML (or JSON) document. Syntax errors and broken limits are fatal and
// returned; duplicate mapping keys are not fatal and are appended to `problems` (the first
// value is kept). A text with no document at all gives a null root.
Result<NodePtr> parse_tree(std::string_view text, const std::string& source_name,
                           const TreeLimits& limits, std::vector<Error>& problems);

// The plain Value of a subtree (aliases expanded, key order kept).
Value to_value(const Node& node);

// Appends a member to a Value object whose keys are known to be unique (tree keys are):
// nlohmann's ordered_json looks keys up linearly, which is quadratic for big mappings.
void append_member(Value& object, std::string key, Value value);

// `text` with control characters shown as \xNN, safe to print in a one-line message.
std::string printable(std::string_view text);

// A human name for a node's type, used in messages: "a string", "a list", ...
std::string_view describe(const Node& node);

}  // namespace swmld::swml::detail
