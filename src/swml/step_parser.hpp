// Turns step lists of the positioned tree into validated Blocks: method lookup, short forms,
// per-method properties, nested step lists (cond, switch, if, execute), labels and the
// references (goto labels, execute/transfer sections) checked once the document is complete.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "diagnostics.hpp"
#include "swmld/swml/document.hpp"
#include "swmld/swml/method_table.hpp"
#include "yaml_tree.hpp"

namespace swmld::swml::detail {

// A step list and the list it is nested in: `goto` may jump to a label of its own list or
// of any enclosing list of the same section.
struct LabelScope {
  const Block* block = nullptr;
  const LabelScope* parent = nullptr;
};

class StepParser {
 public:
  StepParser(Diagnostics& diag, int max_nesting) : diag_(diag), max_nesting_(max_nesting) {}

  // Parses the steps of one section.
  std::shared_ptr<const Block> parse_section(const std::string& name, const Node& list);

  // Checks what needs the whole document: goto labels and execute/transfer sections.
  void check_references(const Document& doc);

 private:
  // What the structural properties of one method produced (filled by parse_properties).
  struct Parts {
    std::shared_ptr<const Block> on_return, default_, then_, else_;
    SourcePos default_pos, else_pos;
    std::vector<Branch> cases;
    std::optional<Selector> result;
    std::vector<std::pair<std::string, std::shared_ptr<const Block>>> blocks;  // Step::blocks
  };
  struct GotoRef {
    std::string label;
    SourcePos pos;
    const LabelScope* scope;
    std::string section;
  };
  struct DestRef {
    std::string method;
    std::string dest;
    SourcePos pos;
  };

  std::shared_ptr<const Block> parse_block(const Node& list, int depth, const LabelScope* parent,
                                           bool confirm_only = false);
  std::optional<Step> parse_step(const Node& item, int depth, const LabelScope* scope,
                                 bool confirm_only);
  bool parse_args(const MethodSpec& spec, const Node* args, Step& step, int depth,
                  const LabelScope* scope);
  bool parse_object_args(const MethodSpec& spec, const Node* args, Step& step, int depth,
                         const LabelScope* scope);

  // Validates a property mapping against `props`; returns its canonical Value.
  Value parse_properties(std::span<const PropSpec> props, bool open, const Node& map,
                         const std::string& where, const SourcePos& owner, int depth,
                         const LabelScope* scope, Parts& parts);
  // The structural Check kinds; returns the canonical value of the property.
  Value parse_structural(const PropSpec& spec, const MapEntry& entry, const std::string& where,
                         int depth, const LabelScope* scope, Parts& parts);

  // cond lists (also `if`, execute.result as a list, the positional form).
  std::optional<Selector> parse_cond(const Node& list, const std::string& where, int depth,
                                     const LabelScope* scope, Value& canonical);
  // switch-like objects: execute.result, connect.result.
  std::optional<Selector> parse_result(const Node& node, const std::string& where,
                                       const std::string& default_variable, int depth,
                                       const LabelScope* scope, Value& canonical);
  std::vector<Branch> parse_cases(const Node& map, const std::string& where, int depth,
                                  const LabelScope* scope, Value& canonical);
  Value parse_destinations(const Node& list, const std::string& where, int depth, bool groups,
                           Parts& parts);
  void check_live_action(const Node& action, const std::string& where);

  Diagnostics& diag_;
  int max_nesting_;
  std::string section_;               // the section being parsed, for messages
  std::deque<LabelScope> scopes_;     // stable addresses for the references below
  // Every block built, kept alive until the references are checked: a block may be dropped
  // from the document (its step had errors) while a goto inside it still points at it.
  std::vector<std::shared_ptr<const Block>> blocks_;
  std::vector<GotoRef> gotos_;
  std::vector<DestRef> dests_;
};

// The canonical Value of a block: a list of single-key {method: args} steps.
Value block_to_value(const Block& block);

}  // namespace swmld::swml::detail
