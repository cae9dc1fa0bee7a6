// Nested step lists and the properties that hold them: cond items (canonical and positional),
// switch cases, execute/connect `result`, on_return, connect.confirm and destinations, and
// the nested settings of join_conference.stream.
#include <algorithm>

#include "step_parser.hpp"
#include "value_checks.hpp"

namespace swmld::swml::detail {
namespace {

// Properties of a switch-like `result` object (execute.result, connect.result, ...).
constexpr PropSpec result_props[] = {
    {.name = "variable", .types = t_string, .check = Check::var_path},
    {.name = "case", .types = t_object, .required = true, .check = Check::cases},
    {.name = "default", .types = t_array, .check = Check::steps},
};

// The variable a `result` object switches on when it names none.
std::string result_variable(std::string_view where) {
  if (where.starts_with("connect")) return "connect_result";
  if (where.starts_with("join_conference")) return "join_conference_result";
  return "return_value";
}

}  // namespace

Value StepParser::parse_structural(const PropSpec& spec, const MapEntry& entry,
                                   const std::string& where, int depth, const LabelScope* scope,
                                   Parts& parts) {
  const Node& v = *entry.value;
  const std::string label = where + "." + entry.key;
  switch (spec.check) {
    case Check::steps: {
      auto block = parse_block(v, depth + 1, scope);
      Value canonical = block_to_value(*block);
      if (entry.key == "on_return") parts.on_return = block;
      if (entry.key == "then") parts.then_ = block;
      if (entry.key == "else") {
        parts.else_ = block;
        parts.else_pos = diag_.pos(entry);
      }
      if (entry.key == "default") {
        parts.default_ = block;
        parts.default_pos = diag_.pos(entry);
      }
      return canonical;
    }
    case Check::cases: {
      Value canonical;
      parts.cases = parse_cases(v, where, depth, scope, canonical);
      return canonical;
    }
    case Check::result: {
      Value canonical;
      parts.result = parse_result(v, label, result_variable(where), depth, scope, canonical);
      return canonical;
    }
    case Check::confirm: {
      if (v.is_string()) return v.str();  // a URL returning the confirm document
      // The confirm script runs on the callee's leg: its labels are its own.
      auto block = parse_block(v, depth + 1, nullptr, true);
      Value canonical = block_to_value(*block);
      parts.blocks.emplace_back(label, std::move(block));
      return canonical;
    }
    case Check::destinations:
      return parse_destinations(v, label, depth, false, parts);
    case Check::destination_groups:
      return parse_destinations(v, label, depth, true, parts);
    case Check::transcribe_action:
      check_live_action(v, where);
      return to_value(v);
    case Check::conference_stream: {
      Parts unused;  // stream settings hold no steps
      return parse_properties(conference_stream_props(), false, v, label, diag_.pos(entry),
                              depth, scope, unused);
    }
    default:
      return to_value(v);
  }
}

std::vector<Branch> StepParser::parse_cases(const Node& map, const std::string& where, int depth,
                                            const LabelScope* scope, Value& canonical) {
  std::vector<Branch> branches;
  canonical = Value::object();
  for (const auto& e : map.entries) {
    if (!e.value->is_sequence()) {
      diag_.add(ErrorCode::element_wrong_type,
                where + ": case '" + e.key + "' must be a list of steps, not " +
                    std::string(describe(*e.value)),
                *e.value);
      continue;
    }
    auto block = parse_block(*e.value, depth + 1, scope);
    append_member(canonical, e.key, block_to_value(*block));
    branches.push_back(Branch{e.key, false, block, diag_.pos(e)});
  }
  return branches;
}

std::optional<Selector> StepParser::parse_result(const Node& node, const std::string& where,
                                                 const std::string& default_variable, int depth,
                                                 const LabelScope* scope, Value& canonical) {
  if (node.is_sequence()) return parse_cond(node, where, depth, scope, canonical);
  Parts parts;
  canonical = parse_properties(result_props, false, node, where, diag_.pos(node), depth, scope, parts);
  Selector sel;
  sel.kind = Selector::Kind::switch_;
  sel.variable = canonical.contains("variable") && canonical["variable"].is_string()
                     ? canonical["variable"].get<std::string>()
                     : default_variable;
  if (!canonical.contains("variable")) canonical["variable"] = default_variable;
  sel.branches = std::move(parts.cases);
  if (parts.default_) sel.branches.push_back(Branch{"", true, parts.default_, parts.default_pos});
  return sel;
}

std::optional<Selector> StepParser::parse_cond(const Node& list, const std::string& where,
                                               int depth, const LabelScope* scope,
                                               Value& canonical) {
  Selector sel;
  sel.kind = Selector::Kind::cond;
  canonical = Value::array();
  bool ok = true;
  bool seen_default = false;
  auto add_default = [&](std::shared_ptr<const Block> body, SourcePos pos) {
    canonical.push_back(Value{{"else", block_to_value(*body)}});
    sel.branches.push_back(Branch{"", true, std::move(body), std::move(pos)});
    seen_default = true;
  };

  for (std::size_t i = 0; i < list.items.size(); ++i) {
    const Node& item = *list.items[i];
    if (seen_default) {
      diag_.add(ErrorCode::method_parameter_invalid_value,
                where + ": an 'else' branch must be the last item; this one is never reached",
                item);
      ok = false;
      break;
    }
    if (item.is_sequence()) {
      // Positional form: [expr, [steps]] is a branch; any other list is the default steps.
      bool branch = item.items.size() == 2 && item.items[0]->is_string() &&
                    item.items[1]->is_sequence();
      if (branch) {
        auto body = parse_block(*item.items[1], depth + 1, scope);
        const std::string& when = item.items[0]->str();
        canonical.push_back(Value{{"when", when}, {"then", block_to_value(*body)}});
        sel.branches.push_back(Branch{when, false, std::move(body), diag_.pos(item)});
      } else {
        const Node* steps = &item;
        if (item.items.size() == 1 && item.items[0]->is_sequence()) steps = item.items[0].get();
        add_default(parse_block(*steps, depth + 1, scope), diag_.pos(item));
      }
      continue;
    }
    if (!item.is_mapping()) {
      diag_.add(ErrorCode::element_wrong_type,
                where + ": each item must be {when, then} or {else}, not " +
                    std::string(describe(item)),
                item);
      ok = false;
      continue;
    }
    const MapEntry* when = item.find("when");
    const MapEntry* then = item.find("then");
    const MapEntry* otherwise = item.find("else");
    for (const auto& e : item.entries)
      if (e.key != "when" && e.key != "then" && e.key != "else")
        diag_.add(ErrorCode::method_parameter_undefined,
                  where + ": unknown property " + quote_text(e.key) + " in a condition (use when, then, else)",
                  e);
    if (when && !when->value->is_string()) {
      diag_.add(ErrorCode::element_wrong_type,
                where + ": 'when' must be a JavaScript condition string, not " +
                    std::string(describe(*when->value)) + " (quote it)",
                *when->value);
      ok = false;
      continue;
    }
    for (const MapEntry* e : {then, otherwise})
      if (e && !e->value->is_sequence()) {
        diag_.add(ErrorCode::element_wrong_type,
                  where + ": '" + e->key + "' must be a list of steps, not " +
                      std::string(describe(*e->value)),
                  *e->value);
        ok = false;
      }
    if (!ok) continue;
    if (when && !then) {
      diag_.add(ErrorCode::method_parameter_missing,
                where + ": the condition '" + when->value->str() + "' has no 'then' steps", item);
      ok = false;
      continue;
    }
    if (!when && then) {
      diag_.add(ErrorCode::method_parameter_missing,
                where + ": 'then' steps without a 'when' condition", item);
      ok = false;
      continue;
    }
    if (when) {
      auto body = parse_block(*then->value, depth + 1, scope);
      canonical.push_back(Value{{"when", when->value->str()}, {"then", block_to_value(*body)}});
      sel.branches.push_back(Branch{when->value->str(), false, std::move(body), diag_.pos(item)});
      if (otherwise) {
        // An else on a condition item: taken when that condition is false, so it ends the cond.
        auto body2 = parse_block(*otherwise->value, depth + 1, scope);
        canonical.back()["else"] = block_to_value(*body2);
        sel.branches.push_back(Branch{"", true, std::move(body2), diag_.pos(*otherwise)});
        seen_default = true;
      }
    } else if (otherwise) {
      add_default(parse_block(*otherwise->value, depth + 1, scope), diag_.pos(item));
    } else {
      diag_.add(ErrorCode::method_parameter_missing,
                where + ": a condition item needs 'when' and 'then', or 'else'", item);
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return sel;
}

Value StepParser::parse_destinations(const Node& list, const std::string& where, int depth,
                                     bool groups, Parts& parts) {
  Value out = Value::array();
  for (std::size_t i = 0; i < list.items.size(); ++i) {
    const Node& item = *list.items[i];
    std::string label = where + "[" + std::to_string(i) + "]";
    if (groups) {
      if (!item.is_sequence()) {
        diag_.add(ErrorCode::element_wrong_type,
                  label + " must be a list of destinations (dialled in parallel), not " +
                      std::string(describe(item)),
                  item);
        continue;
      }
      out.push_back(parse_destinations(item, label, depth, false, parts));
      continue;
    }
    if (!item.is_mapping()) {
      diag_.add(ErrorCode::element_wrong_type,
                label + " must be a destination mapping {to, ...}, not " +
                    std::string(describe(item)),
                item);
      continue;
    }
    // A destination's inline confirm steps go to the step's blocks; its result is kept in
    // its args only.
    Parts dest_parts;
    out.push_back(parse_properties(connect_destination_props(), false, item, label,
                                   diag_.pos(item), depth, nullptr, dest_parts));
    for (auto& b : dest_parts.blocks) parts.blocks.push_back(std::move(b));
  }
  return out;
}

void StepParser::check_live_action(const Node& action, const std::string& where) {
  const bool translate = where == "live_translate";
  if (action.is_string()) {
    if (mentions_expression(action.str())) return;
    if (action.str() != "stop" && action.str() != "summarize")
      diag_.add(ErrorCode::method_parameter_invalid_value,
                where + ": property 'action' must be 'stop', 'summarize' or a mapping (got " +
                    quote_text(action.str()) + ")",
                action);
    return;
  }
  std::vector<std::string_view> allowed = {"start", "summarize"};
  if (translate) allowed.push_back("inject");
  if (action.entries.size() != 1) {
    diag_.add(ErrorCode::method_parameter_invalid_value,
              where + ": property 'action' must hold exactly one of " +
                  std::string(translate ? "start, summarize, inject" : "start, summarize"),
              action);
    return;
  }
  const MapEntry& e = action.entries[0];
  if (std::find(allowed.begin(), allowed.end(), e.key) == allowed.end()) {
    diag_.add(ErrorCode::method_parameter_undefined,
              where + ": unknown action " + quote_text(e.key) + " (use " +
                  std::string(translate ? "start, summarize, inject" : "start, summarize") + ")",
              e);
  } else if (!e.value->is_mapping()) {
    diag_.add(ErrorCode::element_wrong_type,
              where + ": action '" + e.key + "' must be a mapping, not " +
                  std::string(describe(*e.value)),
              *e.value);
  }
}

}  // namespace swmld::swml::detail
