// Step lists → Blocks: the shape of a step, method lookup, short forms, the property loop
// and the cross-references checked at the end. Nested lists live in branches.cpp.
#include "step_parser.hpp"

#include <algorithm>

#include "value_checks.hpp"

namespace swmld::swml::detail {
namespace {

std::vector<std::string_view> method_names() {
  std::vector<std::string_view> names;
  for (const auto& m : all_methods()) names.push_back(m.name);
  return names;
}

std::string suggestion(std::string_view word, std::span<const std::string_view> candidates) {
  std::string best = closest(word, candidates);
  return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
}

// `say` reads like a method but is a form of play's sounds; the nearest method name, `pay`,
// would point a caller at payments. Shows the step's own text when it is short and plain.
std::string say_hint(const Node* args) {
  const Node* text = args;
  if (args && args->is_mapping()) {
    const MapEntry* e = args->find("text");
    text = e ? e->value.get() : nullptr;
  }
  std::string shown = "<text>";
  if (text && text->is_string() && !text->str().empty() && text->str().size() <= 60 &&
      text->str().find('"') == std::string::npos)
    shown = text->str();
  return "; to speak text use play: \"say:" + shown + "\"";
}

// `reply` and `receive` are methods of messaging SWML (documents run for an inbound SMS),
// which swmld, a calling server, does not run; SignalWire's first page shows `reply`.
std::string messaging_hint() {
  return "; it is a method of messaging SWML (documents run for inbound SMS/MMS), which swmld "
         "does not run";
}

// A mapping node holding one entry, standing for a short form such as `play: "say:Hi"`.
NodePtr wrap(std::string_view key, const Node& value) {
  auto map = std::make_shared<Node>();
  map->kind = Node::Kind::mapping;
  map->line = value.line;
  map->column = value.column;
  // Shares nothing with the tree: copying the one value keeps the tree's ownership simple.
  map->entries.push_back(MapEntry{std::string(key), value.line, value.column,
                                  std::make_shared<Node>(value)});
  return map;
}

}  // namespace

std::shared_ptr<const Block> StepParser::parse_section(const std::string& name, const Node& list) {
  section_ = name;
  return parse_block(list, 0, nullptr);
}

std::shared_ptr<const Block> StepParser::parse_block(const Node& list, int depth,
                                                     const LabelScope* parent, bool confirm_only) {
  auto block = std::make_shared<Block>();
  if (depth > max_nesting_) {
    diag_.add(ErrorCode::nested_too_deep,
              "steps are nested " + std::to_string(depth) + " levels deep; the limit is " +
                  std::to_string(max_nesting_),
              list);
    return block;
  }
  blocks_.push_back(block);
  scopes_.push_back(LabelScope{block.get(), parent});
  const LabelScope* scope = &scopes_.back();
  for (const auto& item : list.items) {
    auto step = parse_step(*item, depth, scope, confirm_only);
    if (!step) continue;
    if (!step->label.empty()) {
      if (auto first = block->find_label(step->label)) {
        diag_.add(ErrorCode::element_duplicated,
                  "label '" + step->label + "' is already defined at line " +
                      std::to_string(block->steps[*first].pos.line) + " in this step list",
                  step->pos);
      } else {
        block->labels.emplace(step->label, block->steps.size());
      }
    }
    block->steps.push_back(std::move(*step));
  }
  return block;
}

std::optional<Step> StepParser::parse_step(const Node& item, int depth, const LabelScope* scope,
                                           bool confirm_only) {
  Step step;
  const Node* args = nullptr;
  std::string name;
  if (item.is_string()) {
    name = item.str();
    step.pos = diag_.pos(item);
  } else if (item.is_mapping()) {
    if (item.entries.empty()) {
      diag_.add(ErrorCode::method_missing_name,
                "a step needs a method name, such as '- answer: {}'", item);
      return std::nullopt;
    }
    const MapEntry* method = nullptr;
    const MapEntry* label = nullptr;
    for (const auto& e : item.entries) {
      // `- label: menu` + another method in the same mapping labels that method's step.
      if (e.key == "label" && item.entries.size() > 1 && !label) {
        label = &e;
      } else if (!method) {
        method = &e;
      } else {
        diag_.add(ErrorCode::element_invalid_value,
                  "a step holds exactly one method, but this one also has '" + e.key +
                      "' after '" + method->key + "' (start a new step with '-')",
                  e);
        return std::nullopt;
      }
    }
    name = method->key;
    args = method->value.get();
    step.pos = diag_.pos(*method);
    if (label) {
      if (!label->value->is_string() || label->value->str().empty()) {
        diag_.add(ErrorCode::element_wrong_type,
                  "label: must be a non-empty string, not " + std::string(describe(*label->value)),
                  *label->value);
      } else {
        step.label = label->value->str();
      }
    }
  } else if (item.is_null()) {
    diag_.add(ErrorCode::method_missing_name, "empty step: write a method such as '- answer'",
              item);
    return std::nullopt;
  } else {
    diag_.add(ErrorCode::element_wrong_type,
              "a step must be a method name or a mapping {method: arguments}, not " +
                  std::string(describe(item)),
              item);
    return std::nullopt;
  }

  const MethodSpec* spec = find_method(name);
  if (!spec) {
    static const auto names = method_names();
    ErrorCode code = name.empty() ? ErrorCode::method_missing_name : ErrorCode::method_undefined;
    std::string hint = name == "say"                          ? say_hint(args)
                       : (name == "reply" || name == "receive") ? messaging_hint()
                                                                : suggestion(name, names);
    diag_.add(code, name.empty() ? "a step needs a method name"
                                 : "unknown method " + quote_text(name) + hint,
              step.pos);
    return std::nullopt;
  }
  if (confirm_only && !allowed_in_confirm(spec->name)) {
    diag_.add(ErrorCode::method_parameter_invalid_value,
              "connect.confirm: '" + std::string(spec->name) +
                  "' cannot run in a confirm script (allowed: cond, set, unset, hangup, play, "
                  "prompt, record, record_call, stop_record_call, tap, stop_tap, stream, "
                  "stop_stream, send_digits, send_sms, denoise, stop_denoise)",
              step.pos);
    return std::nullopt;
  }
  step.method = std::string(spec->name);
  if (!parse_args(*spec, args, step, depth, scope)) return std::nullopt;
  return step;
}

namespace {
// A copy of connect's arguments without the properties that hold steps (Step::own_args).
Value without_steps(const Value& v) {
  if (v.is_object()) {
    Value out = Value::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key() == "result") continue;
      if (it.key() == "confirm" && it.value().is_array()) {
        out["confirm"] = true;  // inline steps: Step::blocks has them
        continue;
      }
      out[it.key()] = without_steps(it.value());
    }
    return out;
  }
  if (v.is_array()) {
    Value out = Value::array();
    for (const auto& item : v) out.push_back(without_steps(item));
    return out;
  }
  return v;
}
}  // namespace

bool StepParser::parse_args(const MethodSpec& spec, const Node* args, Step& step, int depth,
                            const LabelScope* scope) {
  const std::string where(spec.name);
  bool given = args && !args->is_null();
  switch (spec.shape) {
    case ArgsShape::object:
      return parse_object_args(spec, args, step, depth, scope);

    case ArgsShape::any:  // return: any value; a bare `- return` returns nothing (null)
      step.args = given ? to_value(*args) : Value();
      return true;

    case ArgsShape::label:
      if (!given || !args->is_string() || args->str().empty()) {
        diag_.add(ErrorCode::element_wrong_type,
                  "label: must be a non-empty string naming the label, not " +
                      std::string(given ? describe(*args) : "nothing"),
                  given ? diag_.pos(*args) : step.pos);
        return false;
      }
      step.label = args->str();
      step.args = args->str();
      return true;

    case ArgsShape::names:  // unset: a name or a list of names
      step.args = Value::array();
      if (given && args->is_string()) {
        step.args.push_back(args->str());
        return true;
      }
      if (given && args->is_sequence()) {
        bool ok = true;
        for (const auto& n : args->items) {
          if (n->is_string()) {
            step.args.push_back(n->str());
          } else {
            diag_.add(ErrorCode::element_wrong_type,
                      "unset: variable names must be strings, not " + std::string(describe(*n)),
                      *n);
            ok = false;
          }
        }
        return ok;
      }
      diag_.add(ErrorCode::element_wrong_type,
                "unset: expects a variable name or a list of names, not " +
                    std::string(given ? describe(*args) : "nothing"),
                given ? diag_.pos(*args) : step.pos);
      return false;

    case ArgsShape::vars:  // set: any keys, kept in document order (reference §3.5)
      if (given && !args->is_mapping()) {
        diag_.add(ErrorCode::element_wrong_type,
                  "set: expects a mapping of variable names to values, not " +
                      std::string(describe(*args)),
                  *args);
        return false;
      }
      step.args = given ? to_value(*args) : Value::object();
      return true;

    case ArgsShape::sleep: {
      if (given && (args->is_number() || (args->is_string() && mentions_expression(args->str())))) {
        NodePtr full = wrap("duration", *args);
        Parts parts;
        step.args = parse_properties(spec.props, false, *full, where, step.pos, depth, scope, parts);
        return true;
      }
      if (given && args->is_mapping()) {
        Parts parts;
        step.args = parse_properties(spec.props, false, *args, where, step.pos, depth, scope, parts);
        return true;
      }
      diag_.add(ErrorCode::element_wrong_type,
                "sleep: expects milliseconds (an integer), {duration: ms} or a ${...} "
                "expression, not " +
                    std::string(given ? describe(*args) : "nothing"),
                given ? diag_.pos(*args) : step.pos);
      return false;
    }

    case ArgsShape::cond: {
      if (!given || !args->is_sequence()) {
        diag_.add(ErrorCode::element_wrong_type,
                  "cond: expects a list of {when, then} items, not " +
                      std::string(given ? describe(*args) : "nothing"),
                  given ? diag_.pos(*args) : step.pos);
        return false;
      }
      step.selector = parse_cond(*args, where, depth, scope, step.args);
      return step.selector.has_value();
    }

    case ArgsShape::if_: {
      if (!given || !args->is_mapping()) {
        diag_.add(ErrorCode::element_wrong_type,
                  "if: expects a mapping {condition, then, else}, not " +
                      std::string(given ? describe(*args) : "nothing"),
                  given ? diag_.pos(*args) : step.pos);
        return false;
      }
      Parts parts;
      Value full = parse_properties(spec.props, false, *args, where, step.pos, depth, scope, parts);
      // `if` is our name for a two-branch cond; the engine only ever sees cond.
      step.method = "cond";
      Selector sel;
      sel.kind = Selector::Kind::cond;
      step.args = Value::array();
      if (full.contains("condition") && full["condition"].is_string() && parts.then_) {
        sel.branches.push_back(
            Branch{full["condition"].get<std::string>(), false, parts.then_, step.pos});
        step.args.push_back(
            Value{{"when", full["condition"]}, {"then", block_to_value(*parts.then_)}});
      }
      if (parts.else_) {
        sel.branches.push_back(Branch{"", true, parts.else_, parts.else_pos});
        step.args.push_back(Value{{"else", block_to_value(*parts.else_)}});
      }
      step.selector = std::move(sel);
      return true;
    }
  }
  return false;
}

bool StepParser::parse_object_args(const MethodSpec& spec, const Node* args, Step& step,
                                   int depth, const LabelScope* scope) {
  const std::string where(spec.name);
  NodePtr holder;
  if (!args || args->is_null()) {
    auto empty = std::make_shared<Node>();
    empty->kind = Node::Kind::mapping;
    empty->line = step.pos.line;
    empty->column = step.pos.column;
    holder = empty;
    args = holder.get();
  } else if (args->is_string() && !spec.string_prop.empty()) {
    holder = wrap(spec.string_prop, *args);
    args = holder.get();
  } else if (args->is_sequence() && !spec.array_prop.empty()) {
    holder = wrap(spec.array_prop, *args);
    args = holder.get();
  } else if (!args->is_mapping()) {
    std::string forms = "a mapping of properties";
    if (!spec.string_prop.empty()) forms += !spec.array_prop.empty() ? ", a string" : " or a string";
    if (!spec.array_prop.empty()) forms += " or a list";
    diag_.add(ErrorCode::element_wrong_type,
              where + ": expects " + forms + ", not " + std::string(describe(*args)), *args);
    return false;
  }

  Parts parts;
  step.args = parse_properties(spec.props, spec.open, *args, where, step.pos, depth, scope, parts);

  // Rules that tie several properties together.
  auto has = [&](const char* key) { return args->find(key) != nullptr; };
  if (spec.name == "play") {
    if (has("url") && has("urls"))
      diag_.add(ErrorCode::method_parameter_conflict,
                "play: give either 'url' or 'urls', not both", diag_.pos(*args->find("urls")));
    else if (!has("url") && !has("urls"))
      diag_.add(ErrorCode::method_parameter_missing,
                "play: missing required property 'url' (or 'urls')", step.pos);
  } else if (spec.name == "connect") {
    std::vector<const MapEntry*> modes;
    for (const char* m : {"to", "serial", "parallel", "serial_parallel"})
      if (auto e = args->find(m)) modes.push_back(e);
    std::sort(modes.begin(), modes.end(),
              [](auto a, auto b) { return std::pair(a->line, a->column) < std::pair(b->line, b->column); });
    if (modes.empty())
      diag_.add(ErrorCode::method_parameter_missing,
                "connect: missing a destination: give 'to', 'serial', 'parallel' or "
                "'serial_parallel'",
                step.pos);
    else if (modes.size() > 1)
      diag_.add(ErrorCode::method_parameter_conflict,
                "connect: '" + modes[0]->key + "' and '" + modes[1]->key +
                    "' cannot both be given; choose one dialing mode",
                *modes[1]);
  } else if (spec.name == "send_sms") {
    if (!has("body") && !has("media"))
      diag_.add(ErrorCode::method_parameter_missing,
                "send_sms: missing required property 'body' (or 'media')", step.pos);
  }

  if (spec.name == "switch") {
    Selector sel;
    sel.kind = Selector::Kind::switch_;
    if (step.args.contains("variable") && step.args["variable"].is_string())
      sel.variable = step.args["variable"].get<std::string>();
    sel.branches = std::move(parts.cases);
    if (parts.default_) sel.branches.push_back(Branch{"", true, parts.default_, parts.default_pos});
    step.selector = std::move(sel);
  } else if (parts.result) {
    step.selector = std::move(parts.result);  // execute / connect / join_conference result
  }
  step.on_return = std::move(parts.on_return);
  step.blocks = std::move(parts.blocks);
  if (spec.name == "connect") step.own_args = without_steps(step.args);
  return true;
}

Value StepParser::parse_properties(std::span<const PropSpec> props, bool open, const Node& map,
                                   const std::string& where, const SourcePos& owner, int depth,
                                   const LabelScope* scope, Parts& parts) {
  Value out = Value::object();
  for (const auto& entry : map.entries) {
    const PropSpec* spec = nullptr;
    for (const auto& p : props)
      if (p.name == entry.key) spec = &p;
    if (!spec) {
      if (open) {
        append_member(out, entry.key, to_value(*entry.value));
        continue;
      }
      std::vector<std::string_view> names;
      for (const auto& p : props) names.push_back(p.name);
      std::string msg = where + ": unknown property " + quote_text(entry.key);
      if (names.empty())
        msg += " (it takes no properties)";
      else
        msg += suggestion(entry.key, names);
      diag_.add(ErrorCode::method_parameter_undefined, std::move(msg), entry);
      continue;
    }
    if (!check_value(*spec, *entry.value, where, diag_)) continue;
    const Node& v = *entry.value;
    if (spec->check == Check::label_ref && v.is_string())
      gotos_.push_back(GotoRef{v.str(), diag_.pos(v), scope, section_});
    if (spec->check == Check::dest && v.is_string())
      dests_.push_back(DestRef{where, v.str(), diag_.pos(v)});
    switch (spec->check) {
      case Check::steps:
      case Check::cases:
      case Check::result:
      case Check::confirm:
      case Check::destinations:
      case Check::destination_groups:
      case Check::transcribe_action:
      case Check::conference_stream:
        append_member(out, entry.key, parse_structural(*spec, entry, where, depth, scope, parts));
        break;
      default:
        append_member(out, entry.key, to_value(v));
    }
  }
  for (const auto& p : props)
    if (p.required && !map.find(p.name))
      diag_.add(ErrorCode::method_parameter_missing,
                where + ": missing required property '" + std::string(p.name) + "'", owner);
  return out;
}

void StepParser::check_references(const Document& doc) {
  for (const auto& g : gotos_) {
    if (mentions_expression(g.label)) continue;
    std::vector<std::string_view> known;
    bool found = false;
    for (const LabelScope* s = g.scope; s && !found; s = s->parent) {
      found = s->block->find_label(g.label).has_value();
      for (const auto& [name, index] : s->block->labels) known.push_back(name);
    }
    if (!found)
      diag_.add(ErrorCode::method_parameter_invalid_value,
                "goto: no label '" + g.label + "' in section '" + g.section + "'" +
                    suggestion(g.label, known),
                g.pos);
  }
  for (const auto& d : dests_) {
    if (is_external_dest(d.dest) || doc.section(d.dest)) continue;
    std::vector<std::string_view> names;
    std::string list;
    for (const auto& [name, block] : doc.sections) {
      names.push_back(name);
      list += (list.empty() ? "" : ", ") + name;
    }
    std::string hint = suggestion(d.dest, names);
    if (hint.empty()) hint = " (sections: " + list + "; a URL must start with http:// or https://)";
    diag_.add(ErrorCode::section_parameter_undefined,
              d.method + ": no section '" + d.dest + "' in this document" + hint, d.pos);
  }
}

Value block_to_value(const Block& block) {
  Value steps = Value::array();
  for (const auto& s : block.steps) {
    // A label attached to another method becomes its own label step in the canonical form.
    if (!s.label.empty() && s.method != "label") steps.push_back(Value{{"label", s.label}});
    Value step = Value::object();
    step[s.method] = s.args;
    steps.push_back(std::move(step));
  }
  return steps;
}

}  // namespace swmld::swml::detail
