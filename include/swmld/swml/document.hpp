// The immutable instruction tree a SWML document loads into (design.md §5).
// Built once by the loader, shared read-only by every call that runs it (any thread).
// Arguments keep their `${...}` expressions unevaluated; the engine expands them per step.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "swmld/core/error.hpp"
#include "swmld/core/value.hpp"

namespace swmld::swml {

struct Block;

// One branch of a `cond`, a `switch` or an `execute.result`.
struct Branch {
  // switch: the case key to compare with; cond: the bare JS `when` condition.
  // Empty for the default/else branch.
  std::string match;
  bool is_default = false;
  std::shared_ptr<const Block> body;
  SourcePos pos;
};

// A choice between blocks: `cond` (first truthy `when`) or `switch` (variable == case key).
struct Selector {
  enum class Kind { cond, switch_ };
  Kind kind = Kind::cond;
  std::string variable;           // switch only: a variable path such as "prompt_value"
  std::vector<Branch> branches;   // in document order; a default/else branch, if any, is last
};

struct Step {
  std::string method;  // canonical method name: "answer", "sip_refer", ...
  // Arguments in full (canonical) form after short forms were normalised: an object for most
  // methods; the raw value for `return`; a string for `label`; an array of names for `unset`.
  Value args;
  SourcePos pos;
  // `label` steps: the label name. Also set when a label was attached to another step
  // (the `- label: x` + method-in-the-same-map short form).
  std::string label;
  std::optional<Selector> selector;         // cond, switch, if, execute.result
  std::shared_ptr<const Block> on_return;   // execute.on_return
  // Other inline step lists, parsed with the document, by their path in the step:
  // "connect.confirm", "connect.serial[1].confirm", "connect.serial_parallel[0][1].confirm".
  std::vector<std::pair<std::string, std::shared_ptr<const Block>>> blocks;
  // connect: `args` without the properties holding steps (inline confirm steps become
  // `true`, `result` is left out), whose `${...}` belong to when those steps run. Null for
  // other methods.
  Value own_args;
  const Block* block(std::string_view path) const {
    for (const auto& [p, b] : blocks)
      if (p == path) return b.get();
    return nullptr;
  }
};

struct Block {
  std::vector<Step> steps;
  std::unordered_map<std::string, std::size_t> labels;  // label name -> step index

  std::optional<std::size_t> find_label(std::string_view name) const {
    auto it = labels.find(std::string(name));
    if (it == labels.end()) return std::nullopt;
    return it->second;
  }
};

struct Document {
  std::string source;   // file path, URL, or "<inline>"
  std::string version;  // "1.0.0" or empty
  std::vector<std::pair<std::string, std::shared_ptr<const Block>>> sections;  // document order

  const Block* section(std::string_view name) const {
    for (const auto& [n, b] : sections)
      if (n == name) return b.get();
    return nullptr;
  }
};

using DocumentPtr = std::shared_ptr<const Document>;

}  // namespace swmld::swml
